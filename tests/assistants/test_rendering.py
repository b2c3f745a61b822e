"""The prompt sandbox: known Jinja2 escapes and resource bombs are refused with a 422 naming the
template, and ordinary templates render."""

from __future__ import annotations

import time

import pytest

from helios.assistants.rendering import MAX_OUTPUT_CHARS, check_template, render
from helios.core.errors import InvalidInput

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ self._TemplateReference__context }}",
    "{{ x['__class__'] }}",
    "{{ request.application.__globals__.__builtins__ }}",
    "{% set c = ''.__class__ %}{{ c }}",
    "{{ ()|attr('__class__') }}",
    "{{ (''|attr('__class__')) }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_templates_reaching_python_internals_are_refused(source: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        checked = check_template(source, "system_prompt")
        render(checked, {"x": {}, "request": {}}, "system_prompt")
    assert refused.value.errors[0]["field"] == "system_prompt"


BOMBS = [
    ("{{ 'a' * 1000000000 }}", "multiplication"),
    ("{{ 1000000000 * 'a' }}", "multiplication"),
    ("{{ [1] * 1000000000 }}", "multiplication"),
    ("{% for i in range(100000000) %}{% endfor %}", "range"),
    ("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}", "loops more"),
    ("{% for i in range(9000) %}{{ 'x' * 90000 }}{% endfor %}", "longer than"),
    ("{{ ((9**64)**64)**64 }}", "too large"),
    ("{{ 'x'.ljust(1000000000) }}", "not allowed"),
    ("{{ '{:>999999999}'.format(1) }}", "not allowed"),
]


@pytest.mark.parametrize(("source", "says"), BOMBS)
def test_resource_bombs_stop_at_the_limits(source: str, says: str) -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidInput) as refused:
        render(check_template(source, "messages.0.template"), {}, "messages.0.template")
    assert says in refused.value.detail
    assert refused.value.errors[0]["field"] == "messages.0.template"
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    "source", ["{{ ''|center(1000000000) }}", "{{ x|indent(100000000) }}", "{{ x|format(1) }}"]
)
def test_allocating_filters_do_not_exist(source: str) -> None:
    with pytest.raises(InvalidInput, match="No filter named"):
        check_template(source, "system_prompt")


def test_syntax_errors_name_the_line() -> None:
    with pytest.raises(InvalidInput, match="line 2"):
        check_template("hello\n{{ name ", "system_prompt")


def test_ordinary_templates_render() -> None:
    checked = check_template(
        "Hi {{ name|title }}. {% for t in tickers %}{{ t }}{{ ', ' if not loop.last }}{% endfor %}"
        " ({{ tickers|length }}) {{ note|default('none') }} {{ 'a,b'.split(',')|join('+') }}",
        "system_prompt",
    )
    assert checked.variables == {"name", "tickers", "note"}
    text = render(checked, {"name": "ada", "tickers": ["AAPL", "MSFT"]}, "system_prompt")
    assert text == "Hi Ada. AAPL, MSFT (2) none a+b"


def test_a_missing_variable_is_named() -> None:
    with pytest.raises(InvalidInput, match="'question' is undefined"):
        render(check_template("{{ question }}", "messages.0.template"), {}, "messages.0.template")


def test_the_output_limit_is_exact() -> None:
    checked = check_template("{{ 'x' * n }}", "t")
    assert len(render(checked, {"n": MAX_OUTPUT_CHARS}, "t")) == MAX_OUTPUT_CHARS
