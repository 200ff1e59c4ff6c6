"""A safe calculator: arithmetic expressions evaluated by walking Python's ``ast``.

Nothing is ever passed to ``eval``/``exec``/``compile``: the expression is parsed into a tree
and only numbers, arithmetic operators, a fixed set of math functions and three constants are
interpreted. Everything else (names, attributes, subscripts, strings, comparisons, lambdas)
is refused with a message that names the offending part.

Notation choices, because planners copy what users type:
- ``^`` means power (``2^10`` is 1024), as on calculators; bitwise XOR is not offered.
- A number directly followed by ``%`` and no operand (``15% * 80``, ``200 * 7.5%``,
  ``15% of 80``) is a percentage (divided by 100); ``10 % 3``, with an operand after it, is
  the modulo.

Limits keep a hostile expression from eating CPU or memory: expression length, nesting
depth, integer size (in bits, estimated *before* a power or product is computed, so
``9**9**9`` is refused at once) and the factorial argument.

Integers are exact; float results are given to 15 significant digits (as spreadsheets show
them), so ``0.1 + 0.2`` is 0.3.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import Any

from agent.errors import ToolError
from agent.hookspecs import hookimpl
from agent.schema import tool

from . import of, returns

MAX_LENGTH = 500
MAX_DEPTH = 60
MAX_INT_BITS = 10_000  # about 3,000 decimal digits
MAX_FACTORIAL = 1_000

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}

# A number followed by "%" that is not followed by an operand: a percentage.
_PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d*)?|\.\d+)\s*%(?!\s*[\w.(])")
_OF = re.compile(r"%\s*of\b")  # "15% of 240" reads as "15% * 240"


def _factorial(x: float) -> int:
    if x != int(x) or x < 0:
        raise ToolError("factorial needs a non-negative whole number")
    if x > MAX_FACTORIAL:
        raise ToolError(f"factorial is limited to n <= {MAX_FACTORIAL}")
    return math.factorial(int(x))


def _log(x: float, base: float | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


def _round(x: float, ndigits: int | None = None) -> float:
    if ndigits is None:
        return round(x)
    if ndigits != int(ndigits):
        raise ToolError("round: the number of digits must be a whole number")
    # round(5, -10**7) would compute 10**(10**7); beyond +-4000 digits the result cannot
    # change any more (integers are capped at ~3,000 digits), so clamping is exact.
    return round(x, max(-4000, min(4000, int(ndigits))))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt, "abs": abs, "round": _round, "floor": math.floor, "ceil": math.ceil,
    "log": _log, "log10": math.log10, "log2": math.log2, "exp": math.exp,
    "sin": math.sin, "cos": math.cos, "tan": math.tan,
    "asin": math.asin, "acos": math.acos, "atan": math.atan,
    "min": min, "max": max, "factorial": _factorial,
}


def _bits(x: Any) -> float:
    """Size of an integer in bits (floats are bounded by the hardware; 0 for them)."""
    return float(abs(x).bit_length()) if isinstance(x, int) else 0.0


def _check_binary(op: type[ast.operator], left: Any, right: Any) -> None:
    """Refuse an operation whose integer result would be too large, before computing it."""
    if op is ast.Pow and isinstance(left, int) and isinstance(right, int) and right > 0:
        if abs(left) > 1 and right * math.log2(abs(left)) > MAX_INT_BITS:
            raise ToolError(f"result too large: {left} ** {right} exceeds {MAX_INT_BITS} bits")
    elif op is ast.Mult and _bits(left) + _bits(right) > MAX_INT_BITS:
        raise ToolError(f"result too large: exceeds {MAX_INT_BITS} bits")


class _Evaluator:
    """Interprets the allowed subset of expression nodes; anything else is refused."""

    def __init__(self) -> None:
        self.depth = 0

    def eval(self, node: ast.AST) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ToolError(f"expression nested too deeply (limit {MAX_DEPTH})")
        try:
            return self._eval(node)
        finally:
            self.depth -= 1

    def _eval(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return self.eval(node.body)
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ToolError(f"unsupported: constant {value!r} (only numbers)")
            return value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.eval(node.left), self.eval(node.right)
            _check_binary(type(node.op), left, right)
            try:
                return _BINARY[type(node.op)](left, right)
            except ZeroDivisionError:
                raise ToolError("division by zero") from None
            except OverflowError:
                raise ToolError("result too large (overflow)") from None
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](self.eval(node.operand))
        if isinstance(node, ast.Name):
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            raise ToolError(f"unsupported: name {node.id!r}; constants are pi, e, tau")
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Attribute):
            raise ToolError(f"unsupported: attribute access ('.{node.attr}')")
        if isinstance(node, ast.BinOp):
            raise ToolError(f"unsupported: operator {type(node.op).__name__}")
        raise ToolError(f"unsupported: {type(node).__name__} (only arithmetic is allowed)")

    def _call(self, node: ast.Call) -> Any:
        func = node.func
        if not isinstance(func, ast.Name):
            what = f"'.{func.attr}'" if isinstance(func, ast.Attribute) else "this call"
            raise ToolError(f"unsupported: function {what}")
        if func.id not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise ToolError(f"unsupported: function {func.id!r}; available: {known}")
        if node.keywords:
            raise ToolError(f"{func.id}: keyword arguments are not supported")
        args = [self.eval(a) for a in node.args]
        try:
            return FUNCTIONS[func.id](*args)
        except ToolError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise ToolError(f"{func.id}: {exc}") from None


def _normalize(result: Any) -> int | float:
    """Refuse complex and non-finite results; trim float noise to 15 significant digits."""
    if isinstance(result, complex):
        raise ToolError("the result is a complex number; only real results are supported")
    if isinstance(result, float):
        if not math.isfinite(result):
            raise ToolError("the result is not a finite number")
        return float(f"{result:.15g}")
    if isinstance(result, int) and _bits(result) > MAX_INT_BITS:
        raise ToolError(f"result too large: exceeds {MAX_INT_BITS} bits")
    return int(result)


def evaluate(expression: str) -> int | float:
    """Evaluate ``expression`` safely (the engine behind ``calculate``, usable directly)."""
    text = expression.strip()
    if not text:
        raise ToolError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ToolError(f"expression too long ({len(text)} characters, limit {MAX_LENGTH})")
    text = _OF.sub("% *", text.replace("^", "**"))
    text = _PERCENT.sub(r"(\1/100)", text)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"cannot parse the expression: {exc.msg}") from None
    except (ValueError, MemoryError, RecursionError):
        raise ToolError("cannot parse the expression") from None
    return _normalize(_Evaluator().eval(tree))


@tool(
    tags=("math",),
    examples=("what is 2*(3+4)?", "square root of 1764", "15% of 240", "2^10 - 1"),
    templates=(
        "What is {expression}?",
        "Calculate {expression}.",
        "Can you work out {expression} for me?",
        "Evaluate {expression}.",
        "How much is {expression}?",
        "I need the value of {expression}.",
    ),
    output_schema=returns({
        "expression": of("string", "the expression as given"),
        "result": of("number", "the value of the expression"),
    }),
)
def calculate(expression: str) -> dict[str, Any]:
    """Evaluate an arithmetic expression safely (it is interpreted, never run as code).

    Supports numbers, + - * / // % ** (also ^ for power), parentheses, percentages (15%),
    the functions sqrt, abs, round, floor, ceil, log (natural, or log(x, base)), log10,
    log2, exp, sin, cos, tan, asin, acos, atan (radians), min, max, factorial, and the
    constants pi, e and tau.

    Args:
        expression: The arithmetic expression, e.g. "2*(3+4)", "sqrt(1764)", "15% of 240",
            "2^10 - 1", "(1250 - 980) / 980 * 100", "round(pi * 3^2, 2)",
            "factorial(6) / 24" or "log10(250000)".
    """
    return {"expression": expression, "result": evaluate(expression)}


@hookimpl
def register_tools(register: Any) -> None:
    register([calculate])
