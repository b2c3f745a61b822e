"""The chart options and words the pages are built from, checked without a browser: legends sit
above their plots, labels keep off the axes, lineage nodes know where they lead, gaps are said in words."""

from __future__ import annotations

import pandas as pd

from helios.registry.schemas import LineageNode
from helios.training.schemas import DrawValidation, IntervalBand, ValidationSeries
from helios.ui import registry_charts, training_charts, training_validation
from helios.ui.datasets import draw_chart, gaps_text


def test_gaps_are_said_in_words() -> None:
    assert gaps_text(0) == "no gaps"
    assert gaps_text(1234) == "1,234 missing"
    assert gaps_text(None) == "not counted"  # draws: a draw calendar has no missing steps to count


def test_the_draw_chart_keeps_its_legend_above_the_bars() -> None:
    frame = pd.DataFrame({"n1": [1, 2], "n2": [3, 4], "bonus": [1, 2]})
    options = draw_chart(frame)
    assert options["legend"]["top"] < options["grid"]["top"] and "bottom" not in options["legend"]
    assert options["xAxis"]["name"] == "number" and options["yAxis"]["name"] == "times drawn"


def test_the_best_mark_is_labelled_beside_its_line() -> None:
    options = training_charts.live_chart()
    training_charts.add_points(options, [("val_loss", 1, 0.5), ("val_loss", 2, 0.7)])
    training_charts.mark_best(options, "val_loss", 1)
    label = options["series"][0]["markLine"]["label"]
    assert label["align"] == "left"  # at epoch 1 the line is the y axis: its tick labels are to the left


def test_lineage_nodes_know_where_they_lead() -> None:
    def node(node_id: str, kind: str, label: str, **data) -> LineageNode:  # type: ignore[no-untyped-def]
        return LineageNode(id=node_id, kind=kind, label=label, data=data)

    link = registry_charts.node_link
    assert link(node("dataset:7", "dataset_version", "prices@v3")) == "/datasets/prices?version=3"
    assert link(node("job:12", "training_job", "job #12")) == "/training/12"
    assert link(node("version:4", "model_version", "prices naive v2")) == "/models/prices%20naive?version=2"
    assert (
        link(node("predictions:4:x", "prediction", "3", link="/predictions?dataset=x"))
        == "/predictions?dataset=x"
    )
    assert link(node("deployment:1", "deployment", "none → active")) is None


def test_the_validation_plot_draws_bands_naive_and_actuals_and_says_how_it_did() -> None:
    one = ValidationSeries(
        unique_id="S0",
        history_ds=["2024-01-01", "2024-01-02"],
        history_y=[1.0, 2.0],
        ds=["2024-01-03", "2024-01-04"],
        actual=[3.0, 4.0],
        forecast=[2.5, 3.5],
        naive=[2.0, 2.0],
        intervals=[IntervalBand(level=80, lo=[2.0, 3.0], hi=[3.0, 4.0])],
        mae=0.5,
        naive_mae=1.5,
    )
    options = training_validation.series_chart(one, "naive")["baseOption"]
    names = [s["name"] for s in options["series"]]
    assert names == ["history", "80% lower", "80% interval", "naive", "forecast", "actual"]
    assert options["series"][2]["data"] == [["2024-01-03", 1.0], ["2024-01-04", 1.0]]  # the band's width
    assert "80% lower" not in options["legend"]["data"]
    assert options["legend"]["top"] == 0 and options["grid"]["top"] >= 36
    assert training_validation.series_reading(one) == (
        "S0: model MAE 0.5 vs naive 1.5: 67% smaller error than the naive forecast on this holdout."
    )
    assert training_validation.series_reading(one, "seasonal naive") == (
        "S0: model MAE 0.5 vs seasonal naive 1.5: "
        "67% smaller error than the seasonal naive forecast on this holdout."
    )
    draws = DrawValidation(
        ds=["2024-01-01", "2024-01-04"],
        log_likelihood_ratio=[0.2, -0.1],
        main_matches=[1.0, 0.0],
        chance_main_matches=[0.36, 0.36],
    )
    assert "chance on 1 of 2 draws" in training_validation.draws_reading(draws)
    bars = training_validation.draws_chart(draws)["series"][0]["data"]
    assert [b["itemStyle"]["color"] for b in bars] == [training_validation.BETTER, training_validation.WORSE]


def test_memory_graph_tooltips_escape_what_memories_named() -> None:
    import datetime as dt

    from helios.memory.schemas import Graph, GraphEdge, GraphNode
    from helios.ui import memory_charts

    stamp = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    graph = Graph(
        as_of=None,
        nodes=[
            GraphNode(id=1, name="<img src=x onerror=alert(1)>", type="org", strength=0.5, memory_ids=[1]),
            GraphNode(id=2, name="Globex", type="org", strength=0.25, memory_ids=[1, 2]),
        ],
        edges=[
            GraphEdge(
                id=1,
                source=1,
                target=2,
                predicate="supplies",
                weight=2,
                memory_ids=[1, 2],
                valid_from=stamp,
                valid_until=None,
            )
        ],
    )
    series = memory_charts.graph_options(graph)["series"][0]
    assert series["data"][0]["tip"] == "&lt;img src=x onerror=alert(1)&gt;<br/>strength 0.50"
    assert series["links"][0]["tip"] == (
        "&lt;img src=x onerror=alert(1)&gt; supplies Globex<br/>2 supporting memories"
    )
    assert series["links"][0]["predicate"] == "supplies"  # the edge label, drawn as text on the canvas
