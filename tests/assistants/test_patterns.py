"""Regex assertions cannot be turned into a denial of service: the classic catastrophic patterns
run in linear time, and what the linear-time engine cannot do is refused when the set is saved."""

from __future__ import annotations

import time

import pytest

from helios.assistants import patterns, testing
from helios.assistants.schemas import AssertionKind
from helios.assistants.schemas import TestAssertion as Assertion
from helios.core.errors import InvalidInput

ATTACKS = [
    ("(a+)+$", "a" * 50 + "b"),
    ("(a|aa)+$", "a" * 60 + "b"),
    ("(a|a?)+$", "a" * 60 + "b"),
    ("^(([a-z])+.)+[A-Z]([a-z])+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"),
    ("(.*a){20}", "a" * 40),
]


@pytest.mark.parametrize(("pattern", "text"), ATTACKS)
def test_catastrophic_patterns_finish_at_once(pattern: str, text: str) -> None:
    # Python's re takes exponential time on each of these (2**50 steps for the first one).
    started = time.perf_counter()
    for _ in range(10):
        patterns.matches(pattern, text)
        patterns.matches(pattern, text * 200)  # and linear in a long output
    assert time.perf_counter() - started < 1.0


def test_the_attack_replayed_through_an_assertion_fails_the_row_quickly() -> None:
    assertion = Assertion(kind=AssertionKind.regex, value="(a+)+$")
    testing.check_assertion(assertion, "cases.0.assertions.0")  # accepted: RE2 bounds it
    started = time.perf_counter()
    failure = testing._failure(None, assertion, "echo: " + "a" * 50 + "b")  # type: ignore[arg-type]
    assert failure == "does not match /(a+)+$/"
    assert testing._failure(None, assertion, "echo: aaaa") is None  # type: ignore[arg-type]
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("x(?=y)", "invalid perl operator"),  # look-ahead
        ("(a)\\1", "invalid escape sequence"),  # backreference
        ("(x{1000}){1000}", "repetition"),  # a program too big to build
        ("(unclosed", "missing )"),
    ],
)
def test_what_re2_cannot_run_is_refused_naming_the_field(pattern: str, why: str) -> None:
    assertion = Assertion(kind=AssertionKind.regex, value=pattern)
    with pytest.raises(InvalidInput) as refused:
        testing.check_assertion(assertion, "cases.3.assertions.1")
    assert refused.value.errors[0]["field"] == "cases.3.assertions.1.value"
    assert why in refused.value.errors[0]["message"]


def test_a_pattern_saved_before_re2_fails_its_row_with_the_reason() -> None:
    # Stored rows are not re-checked; one RE2 cannot compile fails instead of running in ``re``.
    assertion = Assertion(kind=AssertionKind.regex, value="x(?=y)")
    failure = testing._failure(None, assertion, "xy")  # type: ignore[arg-type]
    assert failure is not None and "RE2" in failure
