"""ECharts options for the Model Registry page: card sparklines, metric trends and the lineage graph.

The lineage graph is laid out here rather than by ECharts' force layout: a force layout of 50+
nodes settles into a hairball, while columns by kind (dataset versions → training jobs → model
versions → deployments) with one row per model version read left to right like the story they tell.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from urllib.parse import quote

from helios.registry.schemas import Lineage, LineageNode, Stage, VersionRead

MUTED = "#64748b"  # slate-500: readable on white cards and on dark ones
PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#db2777", "#0891b2", "#7c3aed", "#dc2626", "#65a30d"]
STAGE_COLORS = {
    Stage.active: "#16a34a",
    Stage.staging: "#d97706",
    Stage.archived: "#94a3b8",
    Stage.none: "#cbd5e1",
}

# kind -> (legend name, colour, symbol, size)
KINDS: dict[str, tuple[str, str, str, int]] = {
    "dataset_version": ("dataset version", "#0d9488", "roundRect", 18),
    "training_job": ("training job", "#8b5cf6", "diamond", 18),
    "model_version": ("model version", "#2563eb", "circle", 25),
    "deployment": ("deployment", "#f97316", "circle", 11),
    "prediction": ("predictions", "#db2777", "triangle", 16),
}
LAYER_X = {
    "dataset_version": 0,
    "training_job": 190,
    "model_version": 380,
    "deployment": 560,
    "prediction": 980,
}
ROW = 46  # vertical distance between model versions
WRAP_ROW = 30  # a version's deployments wrap onto extra lines of this height
DEPLOY_GAP = 80
DEPLOYS_PER_LINE = 5
NODE_SCALE_RATIO = 0.6  # ECharts' default for graph series


# --- small charts ---------------------------------------------------------------------------------


def sparkline(values: list[float | None], color: str = "#2563eb") -> dict:
    """A tiny line with no axes, for a model card."""
    return {
        "animation": False,
        "grid": {"left": 2, "right": 2, "top": 6, "bottom": 2},
        "xAxis": {"type": "category", "show": False, "boundaryGap": False, "data": list(range(len(values)))},
        "yAxis": {"type": "value", "show": False, "scale": True},
        "series": [
            {
                "type": "line",
                "data": values,
                "silent": True,
                "showSymbol": len(values) == 1,
                "symbolSize": 5,
                "smooth": 0.3,
                "connectNulls": True,
                "lineStyle": {"width": 2, "color": color},
                "itemStyle": {"color": color},
                "areaStyle": {"opacity": 0.12, "color": color},
            }
        ],
    }


def numeric_metrics(versions: list[VersionRead]) -> list[str]:
    names = {name for v in versions for name, value in v.metrics.items() if _number(value) is not None}
    return sorted(names)


def metric_trend(versions: list[VersionRead], key_metric: str | None) -> dict:
    """A line per metric across versions (oldest first). Metrics of a very different scale than the
    key metric start hidden in the legend, so the key metric is not flattened against the axis."""
    ordered = sorted(versions, key=lambda v: v.version)
    names = numeric_metrics(ordered)
    lead = key_metric if key_metric in names else names[0]
    series = [
        {
            "name": name,
            "type": "line",
            "connectNulls": True,
            "symbolSize": 7,
            "lineStyle": {"width": 3 if name == lead else 2},
            "data": [_number(v.metrics.get(name)) for v in ordered],
        }
        for name in names
    ]
    return {
        "color": PALETTE,
        "tooltip": {"trigger": "axis"},
        "legend": {
            "top": 0,
            "type": "scroll",
            "textStyle": {"color": MUTED},
            "inactiveColor": "#94a3b866",
            "selected": _shown(ordered, names, lead),
        },
        "grid": {"left": 56, "right": 24, "top": 44, "bottom": 32},
        "xAxis": {
            "type": "category",
            "data": [f"v{v.version}" for v in ordered],
            "boundaryGap": False,
            "axisLabel": {"color": MUTED},
        },
        "yAxis": {
            "type": "value",
            "scale": True,
            "axisLabel": {"color": MUTED},
            "splitLine": {"lineStyle": {"color": "rgba(148,163,184,0.25)"}},
        },
        "series": series,
    }


def _shown(versions: list[VersionRead], names: list[str], lead: str) -> dict[str, bool]:
    def scale(name: str) -> float:
        values = [abs(x) for v in versions if (x := _number(v.metrics.get(name))) is not None]
        return math.log10(max(values) or 1e-12) if values else 0.0

    return {name: abs(scale(name) - scale(lead)) <= 1 for name in names}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


# --- lineage --------------------------------------------------------------------------------------


def lineage_height(lineage: Lineage) -> int:
    """Pixels for the chart: grows with the rows, capped (zoom and pan cover the rest)."""
    _, ys = _layout(lineage)
    return _height(ys)


def _height(ys: dict[str, float]) -> int:
    rows = (max(ys.values()) - min(ys.values())) / ROW + 1 if ys else 1
    return int(min(1100, max(320, 120 + rows * 32)))


def _zoom(xs: dict[str, float], ys: dict[str, float]) -> float:
    """ECharts stretches the layout to fill the chart; a small graph is zoomed back out to about
    its natural size instead of showing three giant nodes (the plot is ~560 px wide on a laptop)."""
    if not xs:
        return 1.0
    width = max(xs.values()) - min(xs.values()) or 1.0
    height = max(ys.values()) - min(ys.values()) or 1.0
    fit = min(560 / width, (_height(ys) - 90) / height)
    return max(0.25, min(1.0, 1.1 / fit))


def lineage_graph(lineage: Lineage) -> dict:
    xs, ys = _layout(lineage)
    zoom = _zoom(xs, ys)
    grow = zoom**-NODE_SCALE_RATIO  # ECharts shrinks nodes with the zoom; start them at full size
    index = {node.id: i for i, node in enumerate(lineage.nodes)}
    titles = _titles(lineage)
    kinds = list(KINDS)
    return {
        "tooltip": {"confine": True},
        "legend": {"top": 0, "data": [KINDS[k][0] for k in kinds], "textStyle": {"color": MUTED}},
        "animationDurationUpdate": 300,
        "series": [
            {
                "type": "graph",
                "layout": "none",
                "preserveAspect": True,
                "roam": True,
                "zoom": zoom,
                "top": 56,
                "bottom": 28,
                "left": 70,
                "right": 70,
                "scaleLimit": {"min": 0.2, "max": 6},
                "categories": [
                    {"name": KINDS[k][0], "itemStyle": {"color": KINDS[k][1]}, "symbol": KINDS[k][2]}
                    for k in kinds
                ],
                "edgeSymbol": ["none", "arrow"],
                "edgeSymbolSize": 7,
                "lineStyle": {"color": "source", "opacity": 0.55, "width": 1.4},
                "label": {"show": True, "color": MUTED, "fontSize": 11},
                "labelLayout": {"hideOverlap": True},
                "emphasis": {"focus": "adjacency", "lineStyle": {"width": 2.5, "opacity": 0.9}},
                "data": [
                    _node(n, xs[n.id], ys[n.id], kinds.index(n.kind), grow, titles[n.id])
                    for n in lineage.nodes
                ],
                "links": [_link(e.source, e.target, e.relation, index, xs) for e in lineage.edges],
            }
        ],
    }


def _node(node: LineageNode, x: float, y: float, category: int, grow: float, title: str) -> dict:
    size = KINDS[node.kind][3] * grow
    link = node_link(node)
    item: dict = {
        "id": node.id,
        "name": node.id,
        "x": x,
        "y": y,
        "category": category,
        "symbolSize": round(size, 1),
        "label": _label_style(node),
        "tooltip": {"formatter": _tooltip(node, title, linked=link is not None)},
        "link": link,  # read back by the page's click handler
    }
    stage = node.data.get("stage") if node.kind == "model_version" else None
    if stage in (Stage.active, Stage.staging):
        item["itemStyle"] = {"borderColor": STAGE_COLORS[stage], "borderWidth": 4}
        item["symbolSize"] = round(size + 4 * grow, 1)
    return item


def node_link(node: LineageNode) -> str | None:
    """Where a click on the node goes: the dataset version's page, the job's, the model version
    (its model's page with that version picked), or what the node itself names (predictions)."""
    if node.kind == "dataset_version":
        name, _, number = node.label.rpartition("@v")
        return f"/datasets/{quote(name)}?version={number}" if name and number.isdecimal() else None
    if node.kind == "training_job":
        number = node.id.partition(":")[2]
        return f"/training/{number}" if number.isdecimal() else None
    if node.kind == "model_version":
        name, _, number = node.label.rpartition(" v")
        return f"/models/{quote(name)}?version={number}" if name and number.isdecimal() else None
    link = node.data.get("link")
    return link if isinstance(link, str) and link.startswith("/") else None


def _label_style(node: LineageNode) -> dict:
    text = node.label.replace("{", "(").replace("}", ")")  # braces are ECharts template syntax
    if node.kind == "model_version":  # "v3" inside the circle; the model's name is the page's title
        return {
            "formatter": "v" + text.rsplit(" v", 1)[-1],
            "position": "inside",
            "color": "#fff",
            "fontWeight": "bold",
            "fontSize": 11,
        }
    if node.kind == "deployment":
        return {"formatter": text.split("→")[-1].strip(), "position": "bottom", "fontSize": 10}
    return {"formatter": text, "position": "top"}


def _titles(lineage: Lineage) -> dict[str, str]:
    """Tooltip titles: a deployment's own label is only "staging → active", so it names its version."""
    labels = {n.id: n.label for n in lineage.nodes}
    titles = dict(labels)
    for edge in lineage.edges:
        if edge.relation == "deployed":
            titles[edge.target] = f"{labels[edge.source]}: {labels[edge.target]}"
    return titles


def _tooltip(node: LineageNode, title: str, linked: bool = False) -> str:
    """HTML (ECharts renders tooltips as HTML), so every user-written piece is escaped."""
    kind = html.escape(KINDS[node.kind][0]) + (" · click to open" if linked else "")
    lines = [f"<b>{html.escape(title)}</b>", kind]
    data = node.data
    if node.kind == "model_version":
        lines.append(f"stage {_escape(data.get('stage'))} · {_escape(data.get('family') or '—')}")
        metrics = data.get("metrics") or {}
        lines += [f"{html.escape(k)} = {v:.4g}" for k, v in metrics.items() if _number(v) is not None][:4]
    elif node.kind == "deployment":
        at = str(data.get("at", ""))[:16].replace("T", " ")
        lines.append(f"by {_escape(data.get('actor'))} · {_escape(at)}")
        if data.get("note"):
            lines.append(_escape(str(data["note"])[:200]))
    return "<br/>".join(lines).replace("{", "&#123;").replace("}", "&#125;")


def _escape(value: object) -> str:
    return html.escape(str(value))


def _link(source: str, target: str, relation: str, index: dict[str, int], xs: dict[str, float]) -> dict:
    link: dict = {"source": index[source], "target": index[target], "value": relation}
    if xs[source] == xs[target]:  # parent → child version in the same column: bow out to stay visible
        link["lineStyle"] = {"curveness": 0.4, "type": "dashed"}
    return link


def _layout(lineage: Lineage) -> tuple[dict[str, float], dict[str, float]]:
    """x by kind; y: one row per model version, deployments beside their version, jobs and datasets
    at the middle of what they fed, then pushed apart so no two nodes in a column overlap."""
    children: dict[str, list[str]] = defaultdict(list)
    for edge in lineage.edges:
        children[edge.source].append(edge.target)
    by_kind: dict[str, list[LineageNode]] = defaultdict(list)
    for node in lineage.nodes:
        by_kind[node.kind].append(node)
    xs = {n.id: float(LAYER_X[n.kind]) for n in lineage.nodes}
    ys: dict[str, float] = {}
    cursor = 0.0
    for version in by_kind["model_version"]:
        ys[version.id] = cursor
        deployed = [c for c in children[version.id] if c.startswith("deployment:")]
        for k, node_id in enumerate(deployed):
            xs[node_id] += (k % DEPLOYS_PER_LINE) * DEPLOY_GAP
            ys[node_id] = cursor + (k // DEPLOYS_PER_LINE) * WRAP_ROW
        cursor += ROW + max(0, math.ceil(len(deployed) / DEPLOYS_PER_LINE) - 1) * WRAP_ROW
    for kind in ("training_job", "dataset_version", "deployment"):
        _place_upstream(by_kind[kind], children, ys)
    for version in by_kind["model_version"]:  # predictions sit on their version's row, wrapped below
        made = [c for c in children[version.id] if c.startswith("predictions:")]
        for k, node_id in enumerate(made):
            ys[node_id] = ys[version.id] + k * WRAP_ROW
    return xs, ys


def _place_upstream(nodes: list[LineageNode], children: dict[str, list[str]], ys: dict[str, float]) -> None:
    for node in nodes:
        if node.id not in ys:
            below = [ys[c] for c in children[node.id] if c in ys]
            ys[node.id] = sum(below) / len(below) if below else max(ys.values(), default=-ROW) + ROW
    ordered = sorted((n for n in nodes if not n.id.startswith("deployment:")), key=lambda n: ys[n.id])
    for previous, node in zip(ordered, ordered[1:], strict=False):
        ys[node.id] = max(ys[node.id], ys[previous.id] + ROW)
