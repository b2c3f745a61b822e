"""Expensive reads open to viewers (issue 9): horizons are capped per family, and one token holds
at most a few forecasts at a time (429 beyond that)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from helios.api.throttle import CALLS_PER_TOKEN, expensive_call_slot
from helios.core.errors import InvalidInput, TooManyRequests
from helios.forecasting.base import Fitted
from helios.forecasting.draw_forecast import DrawFitted
from helios.registry.predict import forecast_rows


class Cheap:
    family = "test"
    max_horizon = 5

    def predict(self, horizon, levels):  # type: ignore[no-untyped-def]
        raise AssertionError("a refused horizon never reaches the model")


def test_horizon_over_the_familys_cap_is_refused_before_forecasting() -> None:
    with pytest.raises(InvalidInput) as refused:
        forecast_rows(Cheap(), 6, [80])
    assert refused.value.errors[0]["field"] == "horizon" and "at most 5" in refused.value.detail
    assert DrawFitted.max_horizon < Fitted.max_horizon


def test_a_token_holds_only_a_few_expensive_calls_at_once(client) -> None:  # type: ignore[no-untyped-def]
    context = client.app.state.helios
    request = Request({"type": "http", "headers": [], "method": "POST", "path": "/"})
    held = [expensive_call_slot(request, context) for _ in range(CALLS_PER_TOKEN)]
    for slot in held:
        next(slot)
    with pytest.raises(TooManyRequests):
        next(expensive_call_slot(request, context))
    for slot in held:
        slot.close()
    again = expensive_call_slot(request, context)
    next(again)
    again.close()


def test_predict_declares_429_in_the_contract(client) -> None:  # type: ignore[no-untyped-def]
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/ai/models/{ident}/predict"]["post"]
    assert "application/problem+json" in operation["responses"]["429"]["content"]
