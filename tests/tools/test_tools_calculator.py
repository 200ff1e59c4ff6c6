from __future__ import annotations

import time

import pytest

from agent.errors import ToolError
from agent.tools import calculator
from agent.tools.calculator import calculate


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2*(3+4)", 14),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 % 3", 2),
        ("2 ** 10", 1024),
        ("2^10", 1024),  # ^ is power, as on calculators
        ("-(3 - 5) + +1", 3),
        ("sqrt(16) + abs(-2)", 6.0),
        ("round(2.567, 2)", 2.57),
        ("floor(2.7) + ceil(2.1)", 5),
        ("log(8, 2) + log10(1000) + log2(8)", 9.0),
        ("exp(0) + sin(0) + cos(0) + tan(0)", 2.0),
        ("asin(1) * 2", 3.14159265358979),
        ("min(4, 2, 8) + max(1, 5)", 7),
        ("factorial(5)", 120),
        ("2 * pi - tau", 0.0),
        ("e", 2.71828182845905),
        ("0.1 + 0.2", 0.3),  # float noise trimmed to 15 significant digits
        ("15% of 240", 36.0),
        ("200 * 7.5%", 15.0),
        ("10 % 3", 1),  # an operand after % makes it the modulo
        ("1e3 + 1", 1001.0),
        ("2 ** -2", 0.25),
    ],
)
def test_results(expression: str, expected: float) -> None:
    out = calculate(expression)
    assert out == {"expression": expression, "result": pytest.approx(expected)}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os')", "unsupported: function '__import__'"),
        ("os", "unsupported: name 'os'"),
        ("os.system('ls')", "unsupported: function '.system'"),
        ("(1).real", "unsupported: attribute access ('.real')"),
        ("().__class__", "unsupported: attribute access ('.__class__')"),
        ("'a' * 3", "unsupported: constant 'a'"),
        ("True + 1", "unsupported: constant True"),
        ("[1, 2]", "unsupported: List"),
        ("1 < 2", "unsupported: Compare"),
        ("lambda: 1", "unsupported: Lambda"),
        ("1 << 100", "unsupported: operator LShift"),
        ("open('x')", "unsupported: function 'open'"),
        ("round(x=1)", "keyword arguments are not supported"),
        ("1 / 0", "division by zero"),
        ("sqrt(-1)", "sqrt: math domain error"),
        ("(-8) ** 0.5", "complex"),
        ("10.0 ** 400", "too large"),
        ("1e308 * 10", "not a finite number"),
        ("factorial(2.5)", "non-negative whole number"),
        ("factorial(100000)", "factorial is limited"),
        ("2 +", "cannot parse"),
        ("", "empty"),
    ],
)
def test_refusals(expression: str, message: str) -> None:
    with pytest.raises(ToolError, match=None) as info:
        calculate(expression)
    assert message in str(info.value)


@pytest.mark.parametrize("expression", ["9**9**9", "10**10**10", "2**100000",
                                        "(10**5000)*(10**5000)",
                                        "factorial(1000) * factorial(1000)"])
def test_huge_numbers_are_refused_quickly(expression: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ToolError, match="too large"):
        calculate(expression)
    assert time.perf_counter() - started < 0.5


def test_round_with_absurd_digits_is_quick() -> None:
    started = time.perf_counter()
    assert calculate("round(5, -10000000)")["result"] == 0
    assert calculate("round(2.5, 10000000)")["result"] == 2.5
    assert time.perf_counter() - started < 0.5


def test_length_and_nesting_limits() -> None:
    with pytest.raises(ToolError, match="too long"):
        calculate("1+" * 300 + "1")
    with pytest.raises(ToolError, match="nested too deeply"):
        calculate("-" * 200 + "1")
    with pytest.raises(ToolError):
        calculate("(" * 250 + "1" + ")" * 250)


def test_never_evaluates_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only parsing (``ast.parse``: compile to a tree, never to code) and walking the tree."""
    import ast
    import builtins

    real_compile = builtins.compile

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec must not be used")

    def tree_only(source: str, filename: str, mode: str, flags: int = 0, *rest: object,
                  **kwargs: object) -> object:
        assert flags & ast.PyCF_ONLY_AST, "compile to code must not be used"
        return real_compile(source, filename, mode, flags, *rest, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", tree_only)
    assert calculate("sqrt(2) ** 2")["result"] == pytest.approx(2.0)


async def test_through_the_executor(run_tool) -> None:
    result = await run_tool(calculator, "calculate", {"expression": "2*(3+4)"})
    assert result.ok, result.error
    assert result.content == {"expression": "2*(3+4)", "result": 14}

    refused = await run_tool(calculator, "calculate", {"expression": "__import__('os')"})
    assert refused.status == "error"
    assert refused.error.startswith("unsupported: function '__import__'")

    invalid = await run_tool(calculator, "calculate", {"expression": 42})
    assert invalid.status == "error" and "expression" in invalid.error
