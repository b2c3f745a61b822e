"""ECharts options for the Memory Graph page: the knowledge graph and the timeline.

The graph uses ECharts' force layout (a knowledge graph has no natural layers). To stay readable
at 500 nodes, labels are shown only for the most supported nodes, repulsion grows with the node
count, and the legend is drawn by the page above the canvas (``type_colours``): a force layout
ignores the series' box and runs past it at a few hundred nodes, so a legend inside the canvas
covered nodes. ECharts keeps its own legend, hidden, for showing and hiding a type.
"""

from __future__ import annotations

from html import escape

from helios.memory.schemas import Graph, TimelineDay
from helios.ui.words import counted

PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d"]
LABELLED_NODES = 40
# The tooltip is HTML: what it shows is escaped here (names come from memories people wrote).
TOOLTIP = "p => p.data.tip"


def node_types(graph: Graph) -> list[str]:
    return sorted({n.type for n in graph.nodes})


def type_colours(graph: Graph) -> dict[str, str]:
    """Each node type's colour in the graph, for the page's legend."""
    return {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(node_types(graph))}


def graph_options(graph: Graph) -> dict:
    types = node_types(graph)
    labelled = {n.id for n in sorted(graph.nodes, key=lambda n: -len(n.memory_ids))[:LABELLED_NODES]}
    crowded = len(graph.nodes) > 150
    sparse = len(graph.nodes) < 30
    nodes = [
        {
            "id": str(n.id),
            "name": n.name,
            "value": round(n.strength, 3),
            "category": types.index(n.type),
            "symbolSize": round(8 + 28 * n.strength, 1),
            "label": {"show": n.id in labelled},
            "memories": len(n.memory_ids),
            "tip": f"{escape(n.name)}<br/>strength {n.strength:.2f}",
        }
        for n in graph.nodes
    ]
    names = {n.id: n.name for n in graph.nodes}
    edges = [
        {
            "source": str(e.source),
            "target": str(e.target),
            "value": e.weight,
            "predicate": e.predicate,
            "tip": escape(f"{names.get(e.source, e.source)} {e.predicate} {names.get(e.target, e.target)}")
            + f"<br/>{counted(e.weight, 'supporting memory', 'supporting memories')}",
            "lineStyle": {"width": min(1 + e.weight, 6)},
        }
        for e in graph.edges
    ]
    return {
        "color": PALETTE,
        # ECharts names an edge "source id > target id"; say what the edge means instead.
        "tooltip": {":formatter": TOOLTIP},
        "legend": [{"data": types, "show": False}],
        "animationDuration": 300,
        "series": [
            {
                "type": "graph",
                "layout": "force",
                "roam": True,
                "draggable": True,
                "categories": [{"name": t} for t in types],
                "data": nodes,
                "links": edges,
                "edgeSymbol": ["none", "arrow"],
                "edgeSymbolSize": 6,
                "label": {"position": "right", "fontSize": 11},
                "edgeLabel": {"show": not crowded, ":formatter": "p => p.data.predicate", "fontSize": 9},
                "force": {
                    "repulsion": 60 if crowded else (320 if sparse else 140),
                    "edgeLength": [80, 160] if sparse else [30, 90],
                    "gravity": 0.08,
                },
                "emphasis": {"focus": "adjacency", "label": {"show": True}},
                "lineStyle": {"opacity": 0.5, "curveness": 0.1},
            }
        ],
    }


def timeline_options(days: list[TimelineDay]) -> dict:
    ordered = sorted(days, key=lambda d: d.day)
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 56, "right": 16, "top": 24, "bottom": 48},
        "xAxis": {
            "type": "category",
            "name": "day (UTC)",
            "nameLocation": "middle",
            "nameGap": 30,
            "data": [d.day.isoformat() for d in ordered],
        },
        "yAxis": {
            "type": "value",
            "name": "memories (count)",
            "nameLocation": "middle",
            "nameGap": 40,
            "minInterval": 1,
        },
        "series": [
            {
                "type": "bar",
                "name": "memories",
                "data": [d.count for d in ordered],
                "itemStyle": {"color": "#2563eb"},
            }
        ],
    }
