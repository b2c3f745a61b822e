"""Which tests share an xdist worker under ``--dist loadgroup``, and in which order they are sent.

Tests that share a module-scoped fixture (a seeded live server, a fitted model) run on one worker, so
the fixture is built once: spread over both workers, each built its own (a browser module's server
and seed cost 15-66 s apiece).

Work is sent longest first. xdist sends its units (a group, or a single test) most tests first, so
the single-test browser modules went out last, after hundreds of quick tests (in a measured run the
last four units sent were browser modules of 34-89 s, and one worker sat idle for the last 66 s;
sent longest first, both ended within a second of each other). Here each unit's expected time is
what its tests took in a measured run (``tests/durations.json``), and the workers' collection is
ordered by it, longest unit first, which xdist then keeps (``loadscopereorder`` off): the quick
tests fill in at the end, on whichever worker frees up first. Refresh the file after a run with
``HELIOS_TEST_DURATIONS=tests/durations.json make test`` (a stale file only costs balance; a
partial run updates its own tests' entries).

pytest 9 keeps a test's id in a structured ``NodeId`` and xdist 3.8 still writes the group into the
old ``_nodeid`` field, so every ``xdist_group`` mark was silently ignored
(https://github.com/pytest-dev/pytest-xdist/issues/1386). Until xdist's fix ships, the group suffix
the scheduler reads (``nodeid@group``) is put on the id here.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import defaultdict
from pathlib import Path

import pytest

DURATIONS = Path(__file__).with_name("durations.json")
# A test the file does not know yet: most take well under a second; a browser test, tens of seconds.
UNKNOWN_SECONDS = 0.3
UNKNOWN_BROWSER_SECONDS = 20.0


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "dist", "no") == "loadgroup":
        config.option.loadscopereorder = False  # keep the order the workers collected (below)
    if os.environ.get("HELIOS_TEST_DURATIONS") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_DurationRecorder(Path(os.environ["HELIOS_TEST_DURATIONS"])))


@pytest.hookimpl(trylast=True)  # after xdist's own hook: a fixed xdist has suffixed the ids already
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "loadgroup", False):  # set on xdist's workers under loadgroup
        return
    expected = _expected_seconds(items)
    for item in items:
        if item.get_closest_marker("xdist_group") is None and _shares_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
        _mark_the_group_in_the_id(item)
    _longest_units_first(items, expected)


def _expected_seconds(items: list[pytest.Item]) -> dict[pytest.Item, float]:
    try:
        known = json.loads(DURATIONS.read_text())
    except (OSError, ValueError):
        known = {}
    return {
        item: known.get(
            _plain(item.nodeid),
            UNKNOWN_BROWSER_SECONDS if item.get_closest_marker("browser") else UNKNOWN_SECONDS,
        )
        for item in items
    }


def _grouped(nodeid: str) -> bool:
    return nodeid.rfind("@") > nodeid.rfind("]")  # a parameter may hold an "@" too


def _plain(nodeid: str) -> str:
    return nodeid.rsplit("@", 1)[0] if _grouped(nodeid) else nodeid


def _unit(nodeid: str) -> str:
    """The unit xdist's loadgroup scheduler sends as one: the group after ``@``, else the test."""
    return nodeid.rsplit("@", 1)[-1] if _grouped(nodeid) else nodeid


def _longest_units_first(items: list[pytest.Item], expected: dict[pytest.Item, float]) -> None:
    seconds: dict[str, float] = defaultdict(float)
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        unit = _unit(item.nodeid)
        seconds[unit] += expected[item]
        first.setdefault(unit, index)
    # Stable: a unit's tests keep their order, and equal units keep the collection's.
    items.sort(key=lambda item: (-seconds[_unit(item.nodeid)], first[_unit(item.nodeid)]))


def _shares_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs and defs[-1].scope == "module" for defs in info.name2fixturedefs.values())


def _mark_the_group_in_the_id(item: pytest.Item) -> None:
    names = sorted(
        {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
    )
    nodeid = item.nodeid
    if not names or _grouped(nodeid):  # no group, or xdist put it there
        return
    grouped = f"{nodeid}@{'_'.join(names)}"
    structured = getattr(item, "_id", None)
    if dataclasses.is_dataclass(structured):
        # The same path, names and params; only the id's text carries the group, as xdist intends.
        item._id = dataclasses.replace(structured)
        object.__setattr__(item._id, "_str_cache", grouped)
    else:  # pytest 8 and older: xdist's own hook works there, but not if it ran before a mark was added
        item._nodeid = grouped


class _DurationRecorder:
    """Writes each test's setup + call + teardown seconds (by its id without the group) at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seconds: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[_plain(report.nodeid)] += report.duration

    def pytest_sessionfinish(self) -> None:
        # Merged into what the file knew, so a partial run updates only its own tests; tests under
        # a tenth of a second are left out (the default covers them).
        try:
            known = json.loads(self.path.read_text())
        except (OSError, ValueError):
            known = {}
        known.update({k: round(v, 1) for k, v in self.seconds.items()})
        kept = {k: v for k, v in sorted(known.items()) if v >= 0.1}
        self.path.write_text(json.dumps(kept, indent=0) + "\n")
