"""Not-found errors suggest the closest existing name, so a typo is one glance from fixed."""

from __future__ import annotations

from helios.core.errors import did_you_mean


def test_a_close_name_is_suggested() -> None:
    assert did_you_mean("cli-est", ["cli-ets", "stocks-nbeats"]) == " (did you mean 'cli-ets'?)"


def test_nothing_is_suggested_when_nothing_is_close() -> None:
    assert did_you_mean("powerball", ["cli-ets", "stocks-nbeats"]) == ""
    assert did_you_mean("x", []) == ""
