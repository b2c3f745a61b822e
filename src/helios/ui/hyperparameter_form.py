"""A form generated from a model family's hyperparameter JSON schema (pydantic's), so a new family
gets its launch form without UI code: numbers with their ranges and defaults, switches for booleans,
selects for enums and Literals, text for the rest. Each field carries its description as a tooltip
and shows the service's validation message under itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nicegui import ui

# Fields a person never needs to see in the form: the job's own seed covers the family's seed.
HIDDEN = frozenset({"seed"})


@dataclass
class FieldSpec:
    name: str
    title: str
    kind: str  # integer | number | boolean | enum | choices (a list of enum values) | list | json | text
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    options: list[Any] | None = None
    item_kind: str = "text"
    nullable: bool = False
    empty: str = ""  # what an empty field means ("the data's season"), shown inside it

    @property
    def range_hint(self) -> str:
        low, high = self.minimum, self.maximum
        exclusive = " (exclusive)" if self.exclusive_minimum or self.exclusive_maximum else ""
        if low is not None and high is not None:
            return f"{_short(low)} – {_short(high)}{exclusive}"
        if low is not None:
            return f"{'>' if self.exclusive_minimum else '≥'} {_short(low)}"
        if high is not None:
            return f"{'<' if self.exclusive_maximum else '≤'} {_short(high)}"
        return ""


def _short(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() and abs(value) >= 10_000 else f"{value:g}"


def field_specs(schema: dict[str, Any]) -> list[FieldSpec]:
    """The fields of a pydantic JSON schema, in declaration order."""
    defs = schema.get("$defs", {})
    return [
        _field_spec(name, _resolve(prop, defs), defs) for name, prop in schema.get("properties", {}).items()
    ]


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = prop.get("$ref") or next((p["$ref"] for p in prop.get("allOf", []) if "$ref" in p), None)
    if ref:
        return {
            **defs.get(ref.rsplit("/", 1)[-1], {}),
            **{k: v for k, v in prop.items() if k not in ("$ref", "allOf")},
        }
    return prop


def _field_spec(name: str, prop: dict[str, Any], defs: dict[str, Any]) -> FieldSpec:
    nullable = False
    if "anyOf" in prop:  # Optional[X]: the first non-null branch says what X is
        branches = [_resolve(b, defs) for b in prop["anyOf"]]
        nullable = any(b.get("type") == "null" for b in branches)
        chosen = next((b for b in branches if b.get("type") != "null"), {})
        prop = {**chosen, **{k: v for k, v in prop.items() if k != "anyOf"}}
    spec = FieldSpec(
        name=name,
        title=prop.get("title") or name.replace("_", " ").capitalize(),
        kind=_kind(prop),
        default=prop.get("default"),
        description=prop.get("description", ""),
        nullable=nullable,
        empty=str(prop.get("empty", "")),
    )
    if "exclusiveMinimum" in prop:
        spec.minimum, spec.exclusive_minimum = prop["exclusiveMinimum"], True
    elif "minimum" in prop:
        spec.minimum = prop["minimum"]
    if "exclusiveMaximum" in prop:
        spec.maximum, spec.exclusive_maximum = prop["exclusiveMaximum"], True
    elif "maximum" in prop:
        spec.maximum = prop["maximum"]
    if spec.kind == "enum":
        spec.options = list(prop["enum"]) if "enum" in prop else [prop["const"]]
    if spec.kind == "list":
        items = _resolve(prop.get("items", {}), defs)
        spec.item_kind = _kind(items)
        if spec.item_kind == "enum":
            spec.kind, spec.options = "choices", list(items.get("enum") or [items.get("const")])
    return spec


def _kind(prop: dict[str, Any]) -> str:
    if "enum" in prop or "const" in prop:
        return "enum"
    kind = prop.get("type")
    if kind in ("integer", "number", "boolean"):
        return kind
    if kind == "array":
        return "list"
    if kind == "object":
        return "json"
    return "text"


class HyperparameterForm:
    """Builds the widgets for one family into the current container; reads values and shows errors."""

    def __init__(self, schema: dict[str, Any], *, hidden: frozenset[str] = HIDDEN) -> None:
        self.specs = [s for s in field_specs(schema) if s.name not in hidden]
        self.widgets: dict[str, Any] = {}
        self.switch_errors: dict[str, ui.label] = {}

    def build(self) -> None:
        if not self.specs:
            ui.label("This family has nothing to tune.").classes("text-sm text-slate-500")
            return
        with ui.element("div").classes(
            "w-full grid grid-cols-1 sm:grid-cols-2 lg:grid-cols-3 gap-x-4 gap-y-1"
        ):
            for spec in self.specs:
                self.widgets[spec.name] = self._widget(spec)

    def _widget(self, spec: FieldSpec) -> Any:
        testid = f'data-testid="hp-{spec.name}"'
        widget: Any
        if spec.kind == "boolean":
            return self._switch(spec, testid)
        if spec.kind in ("integer", "number"):
            # No min/max on the widget: it would clamp a typed value on blur, silently changing what the
            # person asked for. ``values()`` reports a value out of range on its field instead.
            widget = ui.number(
                spec.title,
                value=spec.default,
                step=1 if spec.kind == "integer" else None,
                placeholder=_empty_placeholder(spec),
            )
        elif spec.kind == "enum":
            widget = ui.select(spec.options or [], value=spec.default, label=spec.title)
        elif spec.kind == "choices":
            widget = ui.select(
                spec.options or [], value=list(spec.default or []), label=spec.title, multiple=True
            )
            widget.props("use-chips")
        else:
            placeholder = _empty_placeholder(spec) or {
                "list": "comma-separated",
                "json": '{"name": value}',
            }.get(spec.kind)
            widget = ui.input(spec.title, value=_text(spec.default), placeholder=placeholder)
        widget.props(f"outlined dense bottom-slots {testid}").classes("w-full")
        if _empty_placeholder(
            spec
        ):  # the label stays above the box so the placeholder saying what empty means shows
            widget.props("stack-label")
        if spec.range_hint:
            widget.props(f'hint="{spec.range_hint}"')
        elif spec.kind in ("list", "json"):
            widget.props(f'hint="{"comma-separated" if spec.kind == "list" else "a JSON object"}"')
        if spec.description:
            with widget.add_slot("append"):
                _info(spec.description)
        return widget

    def _switch(self, spec: FieldSpec, testid: str) -> ui.switch:
        with ui.column().classes("gap-0 justify-center min-h-[60px]"):
            with ui.row().classes("items-center gap-1 no-wrap"):
                widget = ui.switch(spec.title, value=bool(spec.default)).props(testid)
                if spec.description:
                    _info(spec.description)
            error = ui.label().classes("text-xs text-red-600 pl-2")
            error.set_visibility(False)
            self.switch_errors[spec.name] = error
        return widget

    def set_value(self, name: str, value: Any) -> None:
        if name in self.widgets:
            self.widgets[name].value = value

    # --- reading and errors -----------------------------------------------------------------------

    def values(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The values to send, and the fields the form itself cannot read (e.g. a bad list)."""
        values: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for spec in self.specs:
            raw = self.widgets[spec.name].value
            try:
                value = _parse(spec, raw)
                _check_range(spec, value)
            except ValueError as exc:
                problems[spec.name] = str(exc)
                continue
            if value is not None or spec.nullable:
                values[spec.name] = value
        return values, problems

    def clear_errors(self) -> None:
        for name, widget in self.widgets.items():
            if name in self.switch_errors:
                self.switch_errors[name].set_visibility(False)
            else:
                widget.error = None

    def show_error(self, name: str, message: str) -> bool:
        """Shows ``message`` under the field; False when there is no such field here."""
        widget = self.widgets.get(name)
        if widget is None:
            return False
        if name in self.switch_errors:
            self.switch_errors[name].text = message
            self.switch_errors[name].set_visibility(True)
        else:
            widget.error = message
        return True


def _empty_placeholder(spec: FieldSpec) -> str | None:
    """'empty: the data's season' where a field may be left empty and its family says what that means."""
    return f"empty: {spec.empty}" if spec.empty and spec.nullable else None


def _info(description: str) -> None:
    """An info icon whose tooltip is the field's description, wrapped at 320 px. (``.tooltip(text)``
    returns the icon, so a ``max-width`` prop after it lands on the icon, and a long description ran
    as one line past the dialog's edge.)"""
    with ui.icon("info_outline", size="18px").classes("text-slate-400 cursor-help"):
        ui.tooltip(description).props('max-width="320px"')


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value) if value else ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _parse(spec: FieldSpec, raw: Any) -> Any:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if spec.kind == "integer":
        if not float(raw).is_integer():
            raise ValueError(f"a whole number, not {raw}")
        return int(float(raw))
    if spec.kind == "number":
        return float(raw)
    if spec.kind == "choices":
        return list(raw)
    if spec.kind == "json":
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise ValueError('write a JSON object, e.g. {"season_length": 7}') from None
        if not isinstance(value, dict):
            raise ValueError("write a JSON object: {...}")
        return value
    if spec.kind == "list":
        parts = [p.strip() for p in str(raw).replace(";", ",").split(",") if p.strip()]
        try:
            return [_item(spec.item_kind, p) for p in parts]
        except ValueError:
            raise ValueError(f"write {spec.item_kind} values separated by commas") from None
    return raw


def _check_range(spec: FieldSpec, value: Any) -> None:
    """A number outside its bounds is refused on its field, with the range, never clamped."""
    if spec.kind not in ("integer", "number") or value is None:
        return
    low, high = spec.minimum, spec.maximum
    below = low is not None and (value <= low if spec.exclusive_minimum else value < low)
    above = high is not None and (value >= high if spec.exclusive_maximum else value > high)
    if below or above:
        raise ValueError(f"{_short(value)} is out of range: {spec.range_hint}")


def _item(kind: str, text: str) -> Any:
    if kind == "integer":
        return int(text)
    if kind == "number":
        return float(text)
    return text
