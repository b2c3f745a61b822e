"""Which tests share an xdist worker under ``--dist loadgroup``.

Tests that share a module-scoped fixture (a seeded live server, a fitted model) run on one worker, so
the fixture is built once: spread over both workers, each built its own (a browser module's server
and seed cost 15-66 s apiece). xdist also schedules groups before single tests, largest first, so
single tests, not a browser module, end the run.

pytest 9 keeps a test's id in a structured ``NodeId`` and xdist 3.8 still writes the group into the
old ``_nodeid`` field, so every ``xdist_group`` mark was silently ignored
(https://github.com/pytest-dev/pytest-xdist/issues/1386). Until xdist's fix ships, the group suffix
the scheduler reads (``nodeid@group``) is put on the id here.
"""

from __future__ import annotations

import dataclasses

import pytest


@pytest.hookimpl(trylast=True)  # after xdist's own hook: a fixed xdist has suffixed the ids already
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "loadgroup", False):  # set on xdist's workers under loadgroup
        return
    for item in items:
        if item.get_closest_marker("xdist_group") is None and _shares_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
        _mark_the_group_in_the_id(item)


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
    if not names or nodeid.rfind("@") > nodeid.rfind("]"):  # no group, or xdist put it there
        return
    grouped = f"{nodeid}@{'_'.join(names)}"
    structured = getattr(item, "_id", None)
    if dataclasses.is_dataclass(structured):
        # The same path, names and params; only the id's text carries the group, as xdist intends.
        item._id = dataclasses.replace(structured)
        object.__setattr__(item._id, "_str_cache", grouped)
    else:  # pytest 8 and older: xdist's own hook works there, but not if it ran before a mark was added
        item._nodeid = grouped
