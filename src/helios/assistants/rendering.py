"""Prompt templates rendered in a sandbox a prompt author cannot climb out of.

Jinja2's ``ImmutableSandboxedEnvironment`` already blocks ``__dunder__`` attributes and mutation of
the values handed in. On top of it, because a template is typed by people and rendered on every
chat call:

- ``StrictUndefined``: a missing variable is an error naming it, never an empty string;
- only a short list of filters and methods exists; those that allocate by an argument
  (``center``, ``indent``, ``format``, ``ljust``...) are absent, so ``''|center(10**9)`` fails to
  compile instead of eating memory;
- ``*`` and ``**`` are intercepted and refuse results past the output limit;
- every ``for`` loop iterates through a budget (iterations and a deadline), so nested loops that
  print nothing still stop; the output is streamed and cut at the output limit;
- at save time, any ``._name`` / ``['_name']`` access is refused outright: that is the path to
  Python internals (``''.__class__.__mro__``, ``cycler.__init__.__globals__``), and no prompt needs it.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateAssertionError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from helios.core.errors import InvalidInput

MAX_OUTPUT_CHARS = 100_000
MAX_ITERATIONS = 100_000
MAX_RENDER_SECONDS = 0.5
MAX_RANGE = 10_000

# Variables the server fills on a chat call; templates may use them without declaring them.
CONTEXT_VARIABLES = frozenset({"predictions", "memories", "tickers", "assistant"})

SAFE_FILTERS = frozenset(
    {
        *("abs", "batch", "capitalize", "count", "default", "d", "dictsort", "first", "float", "int"),
        *("join", "last", "length", "list", "lower", "map", "max", "min", "replace", "reject"),
        *("rejectattr", "round", "select", "selectattr", "slice", "sort", "string", "sum", "title"),
        *("tojson", "trim", "truncate", "unique", "upper", "wordcount"),
    }
)
SAFE_METHODS = frozenset(
    {
        *("upper", "lower", "strip", "lstrip", "rstrip", "split", "startswith", "endswith", "title"),
        *("capitalize", "items", "keys", "values", "get", "count", "find", "isdigit", "isalpha"),
    }
)
_LOOP = "helios_loop_budget"


class RenderLimit(InvalidInput):
    """A template that ran past its output, iteration or time budget."""


@dataclass
class _Budget:
    deadline: float
    iterations: int = 0

    def step(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise RenderLimit(f"the template loops more than {MAX_ITERATIONS:,} times in total")
        if time.monotonic() > self.deadline:
            raise RenderLimit(f"the template took longer than {MAX_RENDER_SECONDS} s to render")


_budget: contextvars.ContextVar[_Budget] = contextvars.ContextVar("helios_render_budget")


def _budgeted(items: Iterable[Any]) -> Iterator[Any]:
    budget = _budget.get()
    for item in items:
        budget.step()
        yield item


def _safe_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise RenderLimit(f"range() of more than {MAX_RANGE:,} numbers is not allowed in a template")
    return numbers


def _too_big(value: Any) -> bool:
    return isinstance(value, str | list | tuple) and len(value) > MAX_OUTPUT_CHARS


class PromptSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
        self.filters = {name: f for name, f in self.filters.items() if name in SAFE_FILTERS}
        self.tests = dict(self.tests)
        self.globals = {"range": _safe_range, _LOOP: _budgeted}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() * abs(right) > 4096:
                raise RenderLimit("that power is too large for a template (over 4096 bits)")
            if isinstance(right, int | float) and abs(right) > 4096:
                raise RenderLimit("exponents above 4096 are not allowed in a template")
            return left**right
        if (
            isinstance(right, int)
            and isinstance(left, str | list | tuple)
            and len(left) * right > MAX_OUTPUT_CHARS
        ):
            raise RenderLimit(f"that multiplication would make more than {MAX_OUTPUT_CHARS:,} characters")
        if (
            isinstance(left, int)
            and isinstance(right, str | list | tuple)
            and len(right) * left > MAX_OUTPUT_CHARS
        ):
            raise RenderLimit(f"that multiplication would make more than {MAX_OUTPUT_CHARS:,} characters")
        result = left * right
        if _too_big(result):
            raise RenderLimit(f"that multiplication would make more than {MAX_OUTPUT_CHARS:,} characters")
        return result

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if __obj is _safe_range or __obj is _budgeted:
            return __context.call(__obj, *args, **kwargs)
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str | dict | list | tuple) and name in SAFE_METHODS:
            return __context.call(__obj, *args, **kwargs)
        raise SecurityError(f"calling {name or type(__obj).__name__!r} is not allowed in a prompt template")


SANDBOX = PromptSandbox()


@dataclass(frozen=True)
class CheckedTemplate:
    """A template that parsed, compiled and reaches no internals; ``variables`` are the names it uses."""

    source: str
    variables: frozenset[str]
    template: Any = field(repr=False)


def check_template(source: str, where: str) -> CheckedTemplate:
    """Parse and compile ``source``; any problem is a 422 naming ``where`` (e.g. ``messages.0.template``)."""
    try:
        tree = SANDBOX.parse(source)
        _refuse_internals(tree, where)
        used = frozenset(meta.find_undeclared_variables(tree)) - set(SANDBOX.globals)
        _budget_loops(tree)
        template = SANDBOX.from_string(tree)
    except TemplateSyntaxError as exc:
        raise _invalid(where, f"template syntax error on line {exc.lineno}: {exc.message}") from None
    except TemplateAssertionError as exc:
        raise _invalid(where, f"template error: {exc.message}") from None
    return CheckedTemplate(source, used, template)


def render(checked: CheckedTemplate, values: dict[str, Any], where: str) -> str:
    """Render with the budget; the text, or a 422 naming the missing variable or the limit hit."""
    token = _budget.set(_Budget(deadline=time.monotonic() + MAX_RENDER_SECONDS))
    try:
        return _collect(checked.template.generate(values), where)
    except RenderLimit as exc:
        raise _invalid(where, exc.detail, RenderLimit) from None
    except UndefinedError as exc:
        raise _invalid(where, f"missing variable: {exc.message}") from None
    except SecurityError as exc:
        raise _invalid(where, f"refused: {exc}") from None
    except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise _invalid(where, f"the template failed to render: {exc}") from None
    finally:
        _budget.reset(token)


def _collect(chunks: Iterator[str], where: str) -> str:
    parts, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT_CHARS:
            raise RenderLimit(f"the rendered text is longer than {MAX_OUTPUT_CHARS:,} characters")
        parts.append(chunk)
    return "".join(parts)


def _refuse_internals(tree: nodes.Template, where: str) -> None:
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            raise _invalid(where, f"the template reaches for {name!r}: Python internals are not allowed")


def _budget_loops(tree: nodes.Template) -> None:
    # Every loop iterates through the render budget, so loops that print nothing still stop.
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Call(nodes.Name(_LOOP, "load"), [loop.iter], [], None, None)


def _invalid(where: str, message: str, kind: type[InvalidInput] = InvalidInput) -> InvalidInput:
    return kind(f"{where}: {message}", errors=[{"field": where, "message": message}])
