"""Random well-typed kernels for the differential fuzz (``tests/lang/test_lang_fuzz.py``).

A kernel is drawn top-down, and what it may contain is the table of forms below, so a reader sees what the
fuzz covers:

- a signature: a shuffled subset of the parameters in :data:`ARRAYS` and :data:`SCALARS` (1-D and 2-D
  ``f64``/``i64`` arrays, ``f64``/``i64`` scalars) and a return type (``f64``, ``i64`` or ``None``);
- locals, every one assigned at the top (Python has no read-before-assignment): ints ``t0..``, floats
  ``s0..``, booleans ``flag0..`` and, sometimes, ``w``: assigned an int first and floats later, so the
  kernel types it as a float everywhere (a widened local);
- statements (:data:`STATEMENTS`): assignments, chained and augmented assignments, stores into array
  elements, tuple swaps and parallel assignments, ``if``/``elif``/``else``, ``for`` over ``range`` with
  constant or runtime bounds and steps (negative ones too), ``for v in a``, ``enumerate`` (with a constant
  or runtime start), ``zip`` of arrays and ranges (also ``strict=True``), ``while`` loops bounded by a
  counter, nested loops, ``break``/``continue``, loop variables assigned in the body (Python rebinds them)
  and read after the loop (their last values), early ``return``, ``raise E("message")`` and
  ``assert cond, "message"``;
- expressions drawn for a type (int, float or bool): arithmetic (``// % **`` and bit operations on ints),
  mixed int/float arithmetic, ``min``/``max``/``abs``, ``int()``/``float()``, ``math.*`` and ``np.*``
  functions, comparisons (chained too), ``and``/``or`` (on bools, and on ints for an operand's value),
  ``not``, conditional expressions, ``len`` and
  ``.shape``, element reads with positive and negative indexes.

Every kernel type-checks, and every index is in bounds by construction: an index is a loop variable that
runs over the axis (``a[i]``, ``a[-1 - i]``) or is reduced into it (``a[e % len(a)]``,
``a[e % len(a) - len(a)]``), so out-of-bounds indexes (undefined behaviour in kernels, by design) never
happen. Arrays have 0 to 6 elements per axis, 1-D ones sometimes 17 or 33 (so vector bodies run). Loops
are bounded: range bounds are small (constants, lengths, the small parameter ``n``, outer loop variables)
and a ``while`` counts up to a small bound, so a kernel runs in microseconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
from hypothesis import strategies as st

__all__ = ["ARRAYS", "SCALARS", "STATEMENTS", "Case", "GeneratedKernel", "cases"]

Type = Literal["int", "float", "bool"]
T = TypeVar("T")

#: Array parameters: name -> (annotation, element type, dimensions).
ARRAYS: dict[str, tuple[str, Type, int]] = {
    "a": ("f64[:]", "float", 1),
    "c": ("f64[:]", "float", 1),
    "b": ("i64[:]", "int", 1),
    "m": ("f64[:, :]", "float", 2),
    "q": ("i64[:, :]", "int", 2),
}
#: Scalar parameters: ``x`` a float, ``n`` a small int (it may bound a loop), ``z`` an int of any size.
SCALARS: dict[str, tuple[str, Type]] = {"x": ("f64", "float"), "n": ("i64", "int"), "z": ("i64", "int")}

#: Statement forms, simplest first (hypothesis shrinks towards the front); loops twice, as the knobs act on them.
STATEMENTS = (
    "assign",
    "augmented",
    "store",
    "if",
    "for_range",
    "for_range",
    "for_array",
    "for_array",
    "while",
    "swap",
    "chained",
    "raise",
    "assert",
    "return",
    "break",
    "continue",
    "widen",
)
LOOP_ONLY = {"break", "continue"}
BLOCKS = {"if", "for_range", "for_array", "while"}

INT_CONSTS = (0, 1, 2, 3, -1, 5, 7, -4, 10, 63, 100, -1000, 2**31, 2**40, -(2**62))
#: Dyadic constants: sums and products of them are exact, so reordering never changes a result.
FLOAT_CONSTS = ("0.5", "1.0", "2.0", "-1.5", "0.25", "3.0", "-2.25", "10.0", "0.0", "0.125")
MATH_UNARY = ("sqrt", "exp", "log", "sin", "cos", "tanh", "atan", "fabs", "log1p", "expm1", "erf", "sinh")
MATH_BINARY = ("atan2", "hypot", "copysign", "fmod", "pow")
NP_UNARY = ("sqrt", "exp", "log", "sin", "cos", "tanh", "arctan", "abs", "sign", "floor", "ceil", "trunc", "fabs")
NP_BINARY = ("minimum", "maximum", "hypot", "arctan2", "copysign", "fmod")
INT_BINOPS = ("+", "-", "*", "//", "%", "&", "|", "^")
FLOAT_BINOPS = ("+", "-", "*", "/", "//", "%")
COMPARISONS = ("<", "<=", "==", "!=", ">", ">=")
RAISABLE = ("ValueError", "IndexError", "ZeroDivisionError", "ArithmeticError", "OverflowError", "RuntimeError")
MESSAGE_PREFIX = "fuzz"  # user messages start with it, so the test tells them from Python's own errors


@dataclass
class GeneratedKernel:
    """A kernel's source, its parameters in order, and facts the comparison needs."""

    source: str
    params: list[str]
    ret: Type | None
    widened: bool  #: has ``w``, a local Python holds as an int until a float is assigned
    strict_zips: list[tuple[str, str]]  #: arrays zipped with ``strict=True`` (their lengths must agree)


@dataclass
class Case:
    """A kernel and argument tuples to call it with (in parameter order)."""

    kernel: GeneratedKernel
    argsets: list[tuple[Any, ...]]

    def __repr__(self) -> str:
        args = "\n".join(f"    args: {_show(a)}" for a in self.argsets)
        return f"Case(\n{self.kernel.source}\n{args}\n)"


def _show(args: tuple[Any, ...]) -> str:
    return "(" + ", ".join(repr(a.tolist()) if isinstance(a, np.ndarray) else repr(a) for a in args) + ")"


@dataclass
class _Scope:
    """What the code being drawn may read: names by type, and the loop variables that index an axis."""

    ints: list[str]
    floats: list[str]
    bools: list[str]
    axis_vars: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    loop_depth: int = 0

    def inner(self, ints: tuple[str, ...] = (), floats: tuple[str, ...] = ()) -> _Scope:
        """The scope of a loop body that binds ``ints`` and ``floats``."""
        return _Scope(
            [*self.ints, *ints], [*self.floats, *floats], list(self.bools), dict(self.axis_vars), self.loop_depth + 1
        )

    def branch(self) -> _Scope:
        """The scope of an ``if`` branch: names it binds stay in it (Python may not run the branch)."""
        return _Scope(list(self.ints), list(self.floats), list(self.bools), dict(self.axis_vars), self.loop_depth)


class _Builder:
    """Draws one kernel; ``draw`` is hypothesis' draw function of a composite strategy."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any], params: list[str], ret: Type | None) -> None:
        self.draw = draw
        self.params = params
        self.ret = ret
        self.arrays = [p for p in params if p in ARRAYS]
        self.statements_left = draw(st.integers(1, 10))
        self.messages = 0
        self.widened = False
        self.strict_zips: list[tuple[str, str]] = []
        self.counters = 0

    # ---- small helpers -----------------------------------------------------------------------
    def pick(self, options: tuple[T, ...] | list[T]) -> T:
        picked: T = self.draw(st.sampled_from(options))
        return picked

    def pick_type(self, options: list[Type]) -> Type:
        return self.pick(options)

    def chance(self, p_true_in: int) -> bool:
        """True about once in ``p_true_in`` draws (shrinks to False)."""
        return bool(self.draw(st.integers(0, p_true_in - 1)) == p_true_in - 1)

    def message(self) -> str:
        self.messages += 1
        return f'"{MESSAGE_PREFIX} {self.messages}"'

    def of_type(self, ty: Type) -> list[str]:
        return [p for p in self.arrays if ARRAYS[p][1] == ty]

    # ---- expressions -------------------------------------------------------------------------
    def expr(self, ty: Type, s: _Scope, depth: int) -> str:
        return {"int": self.int_expr, "float": self.float_expr, "bool": self.bool_expr}[ty](s, depth)

    def length(self, array: str, axis: int) -> str:
        """An expression for the extent of ``array`` along ``axis``."""
        if ARRAYS[array][2] == 1:
            return self.pick([f"len({array})", f"{array}.shape[0]", f"{array}.shape[-1]"])
        return self.pick([f"{array}.shape[{axis}]", f"{array}.shape[{axis - 2}]"] + ([f"len({array})"] * (axis == 0)))

    def index(self, array: str, axis: int, s: _Scope, depth: int) -> str:
        """An in-bounds index of ``array`` along ``axis`` (negative ones included)."""
        safe = s.axis_vars.get((array, axis), [])
        form = self.pick(["mod", "mod_negative"] + (["var", "var_negative"] if safe else []))
        if form in ("var", "var_negative"):
            var = self.pick(safe)
            return var if form == "var" else f"-1 - {var}"
        base = f"({self.int_expr(s, depth - 1)}) % {self.length(array, axis)}"
        return base if form == "mod" else f"{base} - {self.length(array, axis)}"

    def element(self, array: str, s: _Scope, depth: int) -> str:
        indexes = [self.index(array, axis, s, depth) for axis in range(ARRAYS[array][2])]
        return f"{array}[{', '.join(indexes)}]"

    def int_expr(self, s: _Scope, depth: int) -> str:
        leaves = ["const", "name", "length"] + ["element"] * (bool(self.of_type("int")) and depth >= 0)
        forms = leaves if depth <= 0 else [*leaves, "binop", "unary", "shift", "power", "minmax", "abs"]
        forms += ["int_of_float", "floor", "int_of_bool", "conditional", "andor"] if depth > 0 else []
        form = self.pick(forms)
        sub = depth - 1
        if form == "const" or (form == "name" and not s.ints):
            value = self.pick(INT_CONSTS)
            return f"({value})" if value < 0 else str(value)
        if form == "name":
            return self.pick(s.ints)
        if form == "length":
            array = self.pick(self.arrays)
            return self.length(array, self.draw(st.integers(0, ARRAYS[array][2] - 1)))
        if form == "element":
            return self.element(self.pick(self.of_type("int")), s, depth)
        if form == "binop":
            return f"({self.int_expr(s, sub)} {self.pick(INT_BINOPS)} {self.int_expr(s, sub)})"
        if form == "unary":
            return f"({self.pick(['-', '~', '+'])}{self.int_expr(s, sub)})"
        if form == "shift":  # a negative count is ValueError in kernels but not for numpy ints: keep it >= 0
            count = self.pick([str(self.draw(st.integers(0, 5))), f"({self.int_expr(s, sub)}) % 64"])
            return f"({self.int_expr(s, sub)} {self.pick(['<<', '>>'])} {count})"
        if form == "power":  # a negative runtime int exponent is a documented divergence
            return f"({self.int_expr(s, sub)} ** {self.draw(st.integers(0, 3))})"
        if form == "minmax":
            args = [self.int_expr(s, sub) for _ in range(self.draw(st.integers(2, 3)))]
            return f"{self.pick(['min', 'max'])}({', '.join(args)})"
        if form == "abs":
            return f"abs({self.int_expr(s, sub)})"
        if form == "int_of_float":
            return f"int({self.float_expr(s, sub)})"
        if form == "floor":
            return f"math.{self.pick(['floor', 'ceil', 'trunc'])}({self.float_expr(s, sub)})"
        if form == "int_of_bool":
            return f"int({self.bool_expr(s, sub)})"
        if form == "andor":  # the value of an operand, not a bool
            return f"({self.int_expr(s, sub)} {self.pick(['and', 'or'])} {self.int_expr(s, sub)})"
        return f"({self.int_expr(s, sub)} if {self.bool_expr(s, sub)} else {self.int_expr(s, sub)})"

    def float_expr(self, s: _Scope, depth: int) -> str:
        leaves = ["const", "name"] + ["element"] * (bool(self.of_type("float")) and depth >= 0)
        forms = leaves if depth <= 0 else [*leaves, "binop", "mixed", "true_division", "unary", "power"]
        forms += ["math", "math2", "np", "np2", "minmax", "abs", "float_of_int", "conditional"] if depth > 0 else []
        form = self.pick(forms)
        sub = depth - 1
        if form == "const" or (form == "name" and not s.floats):
            return self.pick(FLOAT_CONSTS)
        if form == "name":
            return self.pick(s.floats)
        if form == "element":
            return self.element(self.pick(self.of_type("float")), s, depth)
        if form == "binop":
            return f"({self.float_expr(s, sub)} {self.pick(FLOAT_BINOPS)} {self.float_expr(s, sub)})"
        if form == "mixed":
            left, right = self.int_expr(s, sub), self.float_expr(s, sub)
            if self.chance(2):
                left, right = right, left
            return f"({left} {self.pick(FLOAT_BINOPS)} {right})"
        if form == "true_division":
            return f"({self.int_expr(s, sub)} / {self.int_expr(s, sub)})"
        if form == "unary":
            return f"(-{self.float_expr(s, sub)})"
        if form == "power":  # a negative base to a fractional power is complex in Python: take abs first
            return self.pick(
                [
                    f"({self.float_expr(s, sub)} ** {self.pick(['2', '3', '2.0', '(-1)'])})",
                    f"(abs({self.float_expr(s, sub)}) ** 0.5)",
                ]
            )
        if form == "math":
            return f"math.{self.pick(MATH_UNARY)}({self.float_expr(s, sub)})"
        if form == "math2":
            return f"math.{self.pick(MATH_BINARY)}({self.float_expr(s, sub)}, {self.float_expr(s, sub)})"
        if form == "np":
            return f"np.{self.pick(NP_UNARY)}({self.float_expr(s, sub)})"
        if form == "np2":
            return f"np.{self.pick(NP_BINARY)}({self.float_expr(s, sub)}, {self.float_expr(s, sub)})"
        if form == "minmax":
            args = [self.float_expr(s, sub) for _ in range(self.draw(st.integers(2, 3)))]
            return f"{self.pick(['min', 'max'])}({', '.join(args)})"
        if form == "abs":
            return f"abs({self.float_expr(s, sub)})"
        if form == "float_of_int":
            return f"float({self.int_expr(s, sub)})"
        return f"({self.float_expr(s, sub)} if {self.bool_expr(s, sub)} else {self.float_expr(s, sub)})"

    def bool_expr(self, s: _Scope, depth: int) -> str:
        forms = ["compare_int", "compare_float", "compare_mixed"] + ["name"] * bool(s.bools)
        forms += ["chained", "not", "andor", "isnan", "bool_of", "not_number"] if depth > 0 else []
        form = self.pick(forms)
        sub = max(depth - 1, 0)
        if form == "compare_int":
            return f"{self.int_expr(s, sub)} {self.pick(COMPARISONS)} {self.int_expr(s, sub)}"
        if form == "compare_float":
            return f"{self.float_expr(s, sub)} {self.pick(COMPARISONS)} {self.float_expr(s, sub)}"
        if form == "compare_mixed":
            return f"{self.int_expr(s, sub)} {self.pick(COMPARISONS)} {self.float_expr(s, sub)}"
        if form == "name":
            return self.pick(s.bools)
        if form == "chained":
            a, b, c = (self.expr(self.pick_type(["int", "float"]), s, sub) for _ in range(3))
            return f"{a} {self.pick(COMPARISONS)} {b} {self.pick(COMPARISONS)} {c}"
        if form == "not_number":
            return f"not {self.expr(self.pick_type(['int', 'float']), s, sub)}"
        if form == "not":
            return f"not ({self.bool_expr(s, sub)})"
        if form == "andor":
            return f"({self.bool_expr(s, sub)}) {self.pick(['and', 'or'])} ({self.bool_expr(s, sub)})"
        if form == "isnan":
            module = self.pick(["math", "np"])
            return f"{module}.{self.pick(['isnan', 'isinf', 'isfinite'])}({self.float_expr(s, sub)})"
        return f"bool({self.expr(self.pick(['int', 'float']), s, sub)})"

    # ---- statements --------------------------------------------------------------------------
    def block(self, s: _Scope, indent: int, min_size: int = 1) -> list[str]:
        lines: list[str] = []
        count = self.draw(st.integers(min_size, min_size + 3))
        for _ in range(count):
            if self.statements_left <= 0 and len(lines) >= min_size:
                break
            self.statements_left -= 1
            lines += self.statement(s, indent)
        return lines

    def statement(self, s: _Scope, indent: int) -> list[str]:
        pad = "    " * indent
        forms = [f for f in STATEMENTS if (s.loop_depth > 0 or f not in LOOP_ONLY)]
        if indent >= 4:  # deep enough: no more nested blocks
            forms = [f for f in forms if f not in BLOCKS]
        if not self.widened or "w" not in s.floats:
            forms = [f for f in forms if f != "widen"]
        form = self.pick(forms)
        d = self.draw(st.integers(0, 3))  # expression depth
        if form == "assign":
            types: list[Type] = ["int", "float", "bool"] if s.bools else ["int", "float"]
            ty = self.pick_type(types)
            names = {
                "int": self.locals_of(s.ints, "t"),
                "float": self.locals_of(s.floats, "s"),
                "bool": self.locals_of(s.bools, "flag"),
            }[ty]
            return [f"{pad}{self.pick(names)} = {self.expr(ty, s, d)}"]
        if form == "augmented":
            if self.chance(2):
                op = self.pick(["+=", "-=", "*=", "//=", "%=", "&=", "|=", "^="])
                return [f"{pad}{self.pick(self.locals_of(s.ints, 't'))} {op} {self.int_expr(s, d)}"]
            op = self.pick(["+=", "-=", "*=", "/=", "//=", "%="])
            return [f"{pad}{self.pick(self.locals_of(s.floats, 's'))} {op} {self.float_expr(s, d)}"]
        if form == "store":
            array = self.pick(self.arrays)
            element_type = ARRAYS[array][1]
            ops = ["=", "+=", "-=", "*="] + (["//=", "%="] if element_type == "int" else ["/="])
            return [f"{pad}{self.element(array, s, d)} {self.pick(ops)} {self.expr(element_type, s, d)}"]
        if form == "swap":
            return [pad + self.swap(s, d)]
        if form == "chained":
            ty = self.pick_type(["int", "float"])
            pool = self.locals_of(s.ints, "t") if ty == "int" else self.locals_of(s.floats, "s")
            first, second = pool[0], pool[-1]
            return [f"{pad}{first} = {second} = {self.expr(ty, s, d)}"]
        if form == "widen":
            return [f"{pad}w {self.pick(['=', '+=', '*='])} {self.float_expr(s, d)}"]
        if form == "raise":
            exc = self.pick(RAISABLE)
            text = self.pick([f"{exc}({self.message()})", exc, f"{exc}()"])
            return [f"{pad}if {self.bool_expr(s, d)}:", f"{pad}    raise {text}"]
        if form == "assert":
            tail = "" if self.chance(3) else f", {self.message()}"
            return [f"{pad}assert {self.bool_expr(s, d)}{tail}"]
        if form == "return":
            value = "" if self.ret is None else " " + self.expr(self.ret, s, d)
            return [f"{pad}if {self.bool_expr(s, d)}:", f"{pad}    return{value}"]
        if form in LOOP_ONLY:
            return [f"{pad}if {self.bool_expr(s, d)}:", f"{pad}    {form}"]
        if form == "if":
            lines = [f"{pad}if {self.bool_expr(s, d)}:", *self.block(s.branch(), indent + 1)]
            for _ in range(self.draw(st.integers(0, 2))):
                lines += [f"{pad}elif {self.bool_expr(s, d)}:", *self.block(s.branch(), indent + 1)]
            if self.chance(2):
                lines += [f"{pad}else:", *self.block(s.branch(), indent + 1)]
            return lines
        if form == "for_range":
            return self.for_range(s, indent, d)
        if form == "for_array":
            return self.for_array(s, indent, d)
        return self.while_loop(s, indent, d)

    def locals_of(self, names: list[str], prefix: str) -> list[str]:
        """The assignable locals among ``names`` (never a parameter or loop variable)."""
        return [n for n in names if n.startswith(prefix) and n[len(prefix) :].isdigit()]

    def swap(self, s: _Scope, d: int) -> str:
        """A tuple assignment: a swap of two locals or two elements, or a parallel assignment."""
        form = self.pick(["locals", "elements", "parallel"])
        if form == "locals":
            pool = self.pick([self.locals_of(s.ints, "t"), self.locals_of(s.floats, "s")])
            if len(pool) >= 2:
                first, second = pool[0], pool[-1]
                return f"{first}, {second} = {second}, {first}"
        if form == "elements" or form == "locals":
            array = self.pick(self.arrays)
            i, j = self.element(array, s, d), self.element(array, s, d)
            return f"{i}, {j} = {j}, {i}"
        # the second target's index may read the first target, which Python has already assigned
        t = self.pick(self.locals_of(s.ints, "t"))
        array = self.pick(self.arrays)
        return f"{t}, {self.element(array, s, d)} = {self.int_expr(s, d)}, {self.expr(ARRAYS[array][1], s, d)}"

    def range_call(self, s: _Scope, d: int, array: str | None, axis: int) -> tuple[str, bool]:
        """A bounded ``range(...)``; True if its values index ``array`` along ``axis``."""
        if array is not None and not self.chance(2):
            extent = self.length(array, axis)
            forward = not self.chance(3)
            return (f"range({extent})" if forward else f"range({extent} - 1, -1, -1)"), True
        small = [str(v) for v in range(-6, 9)] + ["n"] * ("n" in self.params) + s.ints[-2:]
        # a bound read from a local or an outer loop is clamped, so every loop stays short
        bounds = [
            b if b == "n" or b.lstrip("-").isdigit() else f"max(-6, min({b}, 9))"
            for b in (self.pick(small), self.pick(small))
        ]
        step = self.pick(["1", "2", "3", "-1", "-2", "-3"] + ["n"] * ("n" in self.params))
        form = self.draw(st.integers(1, 3))
        if form == 1:
            return f"range({bounds[1]})", False
        if form == 2:
            return f"range({bounds[0]}, {bounds[1]})", False
        return f"range({bounds[0]}, {bounds[1]}, {step})", False

    def for_range(self, s: _Scope, indent: int, d: int) -> list[str]:
        var = f"i{s.loop_depth}"
        array = self.pick([None, *self.arrays])
        axis = self.draw(st.integers(0, ARRAYS[array][2] - 1)) if array is not None else 0
        call, indexes = self.range_call(s, d, array, axis)
        inner = s.inner(ints=(var,))
        if indexes and array is not None:
            inner.axis_vars[(array, axis)] = [*inner.axis_vars.get((array, axis), []), var]
        pad = "    " * indent
        lines = [f"{pad}for {var} in {call}:", *self.block(inner, indent + 1)]
        if self.chance(4):  # Python rebinds the variable at the next iteration: the assignment must not leak
            lines.append(f"{pad}    {var} = {var} * 2 + {self.pick(['1', '100', '(-9)'])}")
        return self.read_after(s, [(var, "int")], lines, pad)

    def read_after(self, s: _Scope, bound: list[tuple[str, Type]], loop: list[str], pad: str) -> list[str]:
        """Sometimes assign the loop's variables before it and read them after it (their last values)."""
        if not self.chance(2):
            return loop
        inits = [f"{pad}{name} = {'-7' if ty == 'int' else '-7.5'}" for name, ty in bound]
        for name, ty in bound:
            (s.ints if ty == "int" else s.floats).append(name)
        return [*inits, *loop]

    def for_array(self, s: _Scope, indent: int, d: int) -> list[str]:
        """``for v in a``, ``enumerate(a[, start])``, ``zip(a, b[, strict=True])`` or ``enumerate(zip(...))``."""
        ones = [p for p in self.arrays if ARRAYS[p][2] == 1]
        if not ones:
            return self.for_range(s, indent, d)
        depth = s.loop_depth
        first = self.pick(ones)
        second = self.pick([*ones, "range"])
        form = self.pick(["each", "enumerate", "zip", "enumerate_zip"])
        # element variables are named by type (a name keeps one type in every loop that binds it)
        name = {"int": f"k{depth}", "float": f"v{depth}"}
        partner = {"int": f"p{depth}", "float": f"u{depth}"}
        bound = [(name[ARRAYS[first][1]], ARRAYS[first][1])]
        if form in ("zip", "enumerate_zip"):
            if second == "range":
                # a runtime start is ``n`` (evaluated once, before the loop, even where the body changes it)
                ranges = ["range(5)", "range(-3, 9, 2)", "range(10, 0, -3)"]
                sequence = self.pick(ranges + ["range(n, 12)", "range(n)"] * ("n" in self.params))
                bound.append((partner["int"], "int"))
            else:
                sequence = second
                bound.append((partner[ARRAYS[second][1]], ARRAYS[second][1]))
            strict = ""
            if second != "range" and self.chance(3):
                strict = ", strict=True"
                self.strict_zips.append((first, second))
            iterable = f"zip({first}, {sequence}{strict})"
            targets = f"{bound[0][0]}, {bound[1][0]}"
        else:
            iterable, targets = first, bound[0][0]
        inner = s.inner(
            ints=tuple(v for v, t in bound if t == "int"), floats=tuple(v for v, t in bound if t == "float")
        )
        if form in ("enumerate", "enumerate_zip"):
            counter = f"i{depth}"
            start = self.pick(["", ", 1", ", -2", ", start=3"] + [", n"] * ("n" in self.params))
            inner.ints.append(counter)
            if not start:  # the counter runs over the first array (and the second, with zip): it may index them
                for array in sorted({first, second} - {"range"}) if form == "enumerate_zip" else [first]:
                    inner.axis_vars[(array, 0)] = [*inner.axis_vars.get((array, 0), []), counter]
            targets = f"{counter}, ({targets})" if form == "enumerate_zip" else f"{counter}, {targets}"
            iterable = f"enumerate({iterable}{start})"
        pad = "    " * indent
        if form in ("enumerate", "enumerate_zip"):
            bound.append((f"i{depth}", "int"))
        return self.read_after(s, bound, [f"{pad}for {targets} in {iterable}:", *self.block(inner, indent + 1)], pad)

    def while_loop(self, s: _Scope, indent: int, d: int) -> list[str]:
        counter = f"count{self.counters}"
        self.counters += 1
        pad = "    " * indent
        bound = self.pick(
            ["3", "5", "1", "0"]
            + ["n"] * ("n" in self.params)
            + [f"len({p})" for p in self.arrays if ARRAYS[p][2] == 1]
        )
        inner = s.inner(ints=(counter,))
        if self.chance(2):  # ``while True`` that breaks on the counter
            head = [
                f"{pad}while True:",
                f"{pad}    {counter} += 1",
                f"{pad}    if {counter} > {bound}:",
                f"{pad}        break",
            ]
        else:
            cond = f" and ({self.bool_expr(s, d)})" if self.chance(2) else ""
            head = [f"{pad}while {counter} < {bound}{cond}:", f"{pad}    {counter} += 1"]
        return [f"{pad}{counter} = 0", *head, *self.block(inner, indent + 1)]


def _signature(draw: Callable[[st.SearchStrategy[Any]], Any]) -> tuple[list[str], Type | None]:
    arrays = draw(st.lists(st.sampled_from(sorted(ARRAYS)), min_size=1, max_size=3, unique=True))
    scalars = draw(st.lists(st.sampled_from(sorted(SCALARS)), max_size=3, unique=True))
    params = draw(st.permutations(arrays + scalars))
    ret = draw(st.sampled_from(["float", "int", None]))
    return list(params), ret


@st.composite
def kernels(draw: Callable[[st.SearchStrategy[Any]], Any]) -> GeneratedKernel:
    """A random kernel named ``k`` (see the module docstring for what it may contain)."""
    params, ret = _signature(draw)
    b = _Builder(draw, params, ret)
    ints = [p for p in params if p in SCALARS and SCALARS[p][1] == "int"]
    floats = [p for p in params if p in SCALARS and SCALARS[p][1] == "float"]
    scope = _Scope(ints, floats, [])
    lines: list[str] = []
    pools: list[tuple[str, Type, list[str]]] = [("t", "int", scope.ints), ("s", "float", scope.floats)]
    for prefix, ty, pool in [*pools, ("flag", "bool", scope.bools)]:
        for k in range(draw(st.integers(1 if ty != "bool" else 0, 3))):
            annotation = ": f64" if ty == "float" and b.chance(4) else ""
            lines.append(f"    {prefix}{k}{annotation} = {b.expr(ty, scope, draw(st.integers(0, 2)))}")
            pool.append(f"{prefix}{k}")
    if b.chance(3):
        b.widened = True
        lines.append(f"    w = int({b.int_expr(scope, 1)})")  # a Python int (math.trunc refuses numpy ints)
        scope.floats.append("w")
    lines += b.block(scope, 1, min_size=2)
    if ret is not None:
        lines.append(f"    return {b.expr(ret, scope, draw(st.integers(0, 3)))}")
    annotations = {**{k: v[0] for k, v in ARRAYS.items()}, **{k: v[0] for k, v in SCALARS.items()}}
    result = {"float": "f64", "int": "i64", None: "None"}[ret]
    head = f"def k({', '.join(f'{p}: {annotations[p]}' for p in params)}) -> {result}:"
    source = "\n".join([head, *lines]) + "\n"
    return GeneratedKernel(source, params, ret, b.widened, b.strict_zips)


# ---- arguments ------------------------------------------------------------------------------------
FLOATS = st.one_of(
    st.integers(-80, 80).map(lambda k: k / 8),  # dyadic: exact sums, so no reordering shows
    st.floats(-1e3, 1e3, allow_nan=False),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, math.nan, math.inf, -math.inf, 1e300, 5e-324]),
)
INTS = st.one_of(
    st.integers(-20, 20), st.integers(-(2**40), 2**40), st.sampled_from([0, 1, -1, 2**63 - 1, -(2**63), 2**62])
)
#: Array extents: 1 to 6 (one in 16 is 0, an empty array: loops run no iteration, ``e % len(a)`` divides by 0).
LENGTHS = st.integers(0, 15).map(lambda k: 0 if k == 15 else 1 + k % 6)


@st.composite
def _argument(draw: Callable[[st.SearchStrategy[Any]], Any], param: str) -> Any:
    if param == "x":
        return draw(FLOATS)
    if param == "n":
        return draw(st.integers(-3, 10))
    if param == "z":
        return draw(INTS)
    _, ty, ndim = ARRAYS[param]
    if ndim == 1 and draw(st.integers(0, 7)) == 7:  # long enough for vector bodies (width 4, interleave 2)
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        length = draw(st.sampled_from([17, 33]))
        return rng.integers(-80, 81, length) / 8 if ty == "float" else rng.integers(-20, 21, length)
    shape = tuple(draw(LENGTHS) for _ in range(ndim))
    size = int(np.prod(shape))
    values = draw(st.lists(FLOATS if ty == "float" else INTS, min_size=size, max_size=size))
    return np.array(values, dtype=np.float64 if ty == "float" else np.int64).reshape(shape)


@st.composite
def cases(draw: Callable[[st.SearchStrategy[Any]], Any], max_argsets: int = 3) -> Case:
    """A kernel and one to ``max_argsets`` argument tuples for it."""
    kernel = draw(kernels())
    argsets = [tuple(draw(_argument(p)) for p in kernel.params) for _ in range(draw(st.integers(1, max_argsets)))]
    return Case(kernel, argsets)
