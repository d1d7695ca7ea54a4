"""Arrays created inside kernels: ``np.empty/zeros/ones/full``, their ``_like`` forms, and copies
(``np.copy(a)``, ``a.copy()``: a C-contiguous copy of an array parameter, module array or earlier local
array, as numpy's default order gives).

A creation is only ever the whole right-hand side of ``name = np.<creator>(...)``; the name then is a
*local array* everywhere in the kernel (an :class:`~autotune.lang._expr.ArrayRef` like a parameter), with
one element type and number of dimensions for all its assignments (fixed when the kernel is parsed:
``dtype=`` or numpy's default, float64; the ``_like`` array's; ``np.full``'s fill value's type).

Memory: each local array name owns one buffer, ``aligned_alloc(64, ...)`` (:data:`autotune.abi.ALLOCATOR`),
held in a stack slot that starts null. Assigning the name again frees the previous buffer (so a creation
inside a loop keeps one buffer alive, never one per iteration); every exit of the kernel (its returns, the
end of the body and every nonzero status: raise, assert, division by zero, a failed allocation) frees all
slots, and ``free(NULL)`` is a no-op. A returned array leaves its slot (nulled) for the caller, who owns it
(:mod:`autotune.result`). Arrays are never aliased: a local array cannot be assigned from another name.

Errors at the call, like numpy: a negative extent raises ValueError ("negative dimensions are not
allowed"), a byte size beyond ``2**63 - 1`` ValueError ("array is too big ..."), and an allocation that
fails MemoryError (:class:`autotune.abi.Status`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from llvmlite import ir

from ..abi import ALIGNMENT, ALLOCATOR, Status
from ..errors import KernelSyntaxError, KernelTypeError
from ..types import ScalarType, boolean, f64, i64, scalar_type_of
from ._emit import I1, I8, I64, PTR, Val
from ._expr import ArrayRef, ExprLowerer
from ._lattice import INT
from ._model import HostArray, LocalArray, NumpyModule, ParamSpec, Resolved

__all__ = ["CREATORS", "Creation", "LocalArrays", "creation_of", "local_array_specs"]

#: numpy creator -> (positional parameters after the shape/array, in numpy's order)
CREATORS: dict[str, tuple[str, ...]] = {
    "empty": ("dtype",),
    "zeros": ("dtype",),
    "ones": ("dtype",),
    "full": ("fill_value", "dtype"),
    "empty_like": ("dtype",),
    "zeros_like": ("dtype",),
    "ones_like": ("dtype",),
    "full_like": ("fill_value", "dtype"),
    "copy": (),
}
_MAX_NDIM = 3
_FORMS = "b = np.zeros(n), np.empty((n, m), dtype=np.float32), np.full(a.shape, 1.0), np.zeros_like(a)"

ErrorFn = Callable[[ast.AST, str], KernelSyntaxError]
ResolveFn = Callable[[str, ast.AST], Resolved]


@dataclass(frozen=True)
class Creation:
    """One ``np.<creator>(...)`` call, its arguments by role (``shape`` or ``like``, ``fill``, ``dtype``)."""

    creator: str
    node: ast.Call
    shape: ast.expr | None
    like: ast.expr | None
    fill: ast.expr | None
    dtype: ast.expr | None

    @property
    def fill_kind(self) -> str:
        """``"none"`` (empty), ``"zero"``, ``"one"`` or ``"value"``."""
        base = self.creator.removesuffix("_like")
        return {"empty": "none", "zeros": "zero", "ones": "one", "copy": "copy"}.get(base, "value")


def creation_of(node: ast.expr, resolve: Callable[[str, ast.AST], Any], error: ErrorFn) -> Creation | None:
    """The creation ``node`` is (``np.zeros(...)`` with np the numpy module), or None if it is not one.

    ``resolve(name, node)`` says what a free name is (a :class:`NumpyModule` for numpy); unsupported
    spellings of a creator (``order=``, too many arguments) raise a KernelSyntaxError.
    """
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    func = node.func
    if func.attr not in CREATORS or not isinstance(func.value, ast.Name):
        return None
    try:
        module = resolve(func.value.id, func.value)
    except KernelSyntaxError:
        module = None
    if func.attr == "copy" and not isinstance(module, NumpyModule):  # a.copy(): the method form
        if node.args or node.keywords:
            raise error(node, "a.copy() takes no arguments in kernels (the copy is C-contiguous)")
        return Creation("copy", node, None, func.value, None, None)
    if not isinstance(module, NumpyModule):
        return None
    names = CREATORS[func.attr]
    if any(isinstance(a, ast.Starred) for a in node.args):
        raise error(node, "starred arguments (*args) are not supported in kernels")
    if not node.args or len(node.args) > 1 + len(names):
        raise error(node, f"np.{func.attr}() takes 1 to {1 + len(names)} arguments here ({_FORMS})")
    given: dict[str, ast.expr] = dict(zip(names, node.args[1:], strict=False))
    for keyword in node.keywords:
        if keyword.arg not in names or keyword.arg in given:
            raise error(keyword, f"np.{func.attr}(): keyword '{keyword.arg}' is not supported in kernels ({_FORMS})")
        given[keyword.arg] = keyword.value
    if "fill_value" in names and "fill_value" not in given:
        raise error(node, f"np.{func.attr}() needs a fill value")
    like = func.attr.endswith("_like") or func.attr == "copy"
    return Creation(
        func.attr,
        node,
        None if like else node.args[0],
        node.args[0] if like else None,
        given.get("fill_value"),
        given.get("dtype"),
    )


def local_array_specs(
    body: list[ast.stmt],
    params: Mapping[str, ParamSpec],
    resolve: ResolveFn,
    evaluate: Callable[[ast.expr, str], Any],
    error: ErrorFn,
) -> dict[str, LocalArray]:
    """The element type and ndim of every name assigned a creation (in source order: a ``_like`` may refer
    to an earlier local array); KernelSyntaxError when one name gets two types or an array is a parameter."""
    found: dict[str, LocalArray] = {}
    where: dict[str, ast.AST] = {}
    assigns = [n for s in body for n in ast.walk(s) if isinstance(n, ast.Assign)]
    assigns.sort(key=lambda n: (n.lineno, n.col_offset))
    for node in assigns:
        creation = creation_of(node.value, resolve, error)
        if creation is None:
            continue
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            raise error(node, f"an array created in a kernel must be assigned to one plain name ({_FORMS})")
        name = node.targets[0].id
        if name in params:
            raise error(node.targets[0], f"cannot assign a new array to parameter '{name}' (use another name)")

        def array_of(expr: ast.expr) -> LocalArray | None:
            if not isinstance(expr, ast.Name):
                return None
            param = params.get(expr.id)
            if param is not None:
                return LocalArray(param.dtype, param.ndim) if param.kind == "array" and param.dtype else None
            if expr.id in found:
                return found[expr.id]
            try:
                host = resolve(expr.id, expr)
            except KernelSyntaxError:
                return None
            return LocalArray(host.dtype, len(host.shape)) if isinstance(host, HostArray) else None

        spec = _spec(creation, array_of, params, evaluate, error)
        _canonical_dtype(creation, spec.dtype)
        known = found.setdefault(name, spec)
        if known != spec:
            first = getattr(where[name], "lineno", "?")
            raise error(
                node,
                f"local array '{name}' is {_describe(spec)} here but {_describe(known)} at line {first} "
                "(a name holds arrays of one dtype and number of dimensions)",
            )
        where.setdefault(name, node)
    return found


def _canonical_dtype(creation: Creation, dtype: ScalarType) -> None:
    """Spell ``dtype=`` as ``np.<name>`` in the tree: the tuning worker rebuilds the Python reference from
    it with only the kernel's resolved names (``np``), not the module's (``f32``, an alias of np.float32)."""
    if creation.dtype is None or not isinstance(creation.node.func, ast.Attribute):
        return
    numpy = creation.node.func.value
    spelled = ast.copy_location(ast.Attribute(value=numpy, attr=dtype.dtype.name, ctx=ast.Load()), creation.dtype)
    call = creation.node
    call.args = [spelled if a is creation.dtype else a for a in call.args]
    for keyword in call.keywords:
        if keyword.value is creation.dtype:
            keyword.value = spelled


def _maybe_unbound(body: list[ast.stmt], specs: Mapping[str, LocalArray]) -> set[str]:
    """Local arrays some use of which may run before any assignment: all but those first assigned by a
    statement of the function's own body (not nested in a branch or loop) that precedes every use."""
    unsure: set[str] = set()
    for name in specs:
        for stmt in body:
            creates = isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in stmt.targets
            )
            value = stmt.value if creates and isinstance(stmt, ast.Assign) else stmt
            if any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) for n in ast.walk(value)):
                unsure.add(name)
                break
            if creates:
                break
        else:
            unsure.add(name)
    return unsure


def _describe(spec: LocalArray) -> str:
    return f"{spec.dtype.name}[{', '.join(':' * spec.ndim)}]"


def _spec(
    creation: Creation,
    array_of: Callable[[ast.expr], LocalArray | None],
    params: Mapping[str, ParamSpec],
    evaluate: Callable[[ast.expr, str], Any],
    error: ErrorFn,
) -> LocalArray:
    like: LocalArray | None = None
    if creation.like is not None:
        like = array_of(creation.like)
        if like is None:
            raise error(
                creation.like,
                f"np.{creation.creator}() takes an array defined before it (a parameter, a "
                "module array or an earlier local array)",
            )
    if creation.dtype is not None:
        value = evaluate(creation.dtype, "dtype")
        try:
            dtype = scalar_type_of(value)
        except (KernelTypeError, TypeError) as exc:
            raise error(creation.dtype, f"dtype {ast.unparse(creation.dtype)!r}: {exc}") from None
    elif like is not None:
        dtype = like.dtype
    elif creation.fill is not None:
        dtype = _fill_dtype(creation.fill, array_of, params, error)
    else:
        dtype = f64
    if like is not None:
        return LocalArray(dtype, like.ndim)
    shape = creation.shape
    if isinstance(shape, ast.Tuple):
        ndim = len(shape.elts)
    elif isinstance(shape, ast.Attribute) and shape.attr == "shape":
        of = array_of(shape.value)
        if of is None:
            raise error(shape, "x.shape as a shape needs an array x defined before it")
        ndim = of.ndim
    elif isinstance(shape, ast.List):
        raise error(shape, f"give a shape as an int or a tuple of ints ({_FORMS})")
    else:
        ndim = 1
    if not 1 <= ndim <= _MAX_NDIM:
        raise error(shape or creation.node, f"arrays created in kernels have 1 to {_MAX_NDIM} dimensions, got {ndim}")
    return LocalArray(dtype, ndim)


def _fill_dtype(
    fill: ast.expr, array_of: Callable[[ast.expr], LocalArray | None], params: Mapping[str, ParamSpec], error: ErrorFn
) -> ScalarType:
    """numpy's dtype of ``np.full(shape, fill)``: the fill value's own type, when it is known from the source."""
    if isinstance(fill, ast.Constant) and isinstance(fill.value, bool | int | float):
        return boolean if isinstance(fill.value, bool) else i64 if isinstance(fill.value, int) else f64
    if isinstance(fill, ast.UnaryOp) and isinstance(fill.operand, ast.Constant):
        return _fill_dtype(fill.operand, array_of, params, error)
    if isinstance(fill, ast.Name) and fill.id in params and params[fill.id].kind == "scalar":
        dtype = params[fill.id].dtype
        if dtype is not None:
            return dtype
    if isinstance(fill, ast.Subscript):
        array = array_of(fill.value)
        if array is not None:
            return array.dtype
    raise error(
        fill,
        "np.full(shape, value): give dtype= (the fill value's type is known only for literals, "
        "scalar parameters and array elements)",
    )


class LocalArrays:
    """The lowering of local arrays in one function: their slots, creation, and freeing at every exit."""

    def __init__(self, lowerer: ExprLowerer, specs: Mapping[str, LocalArray], body: list[ast.stmt]) -> None:
        self.lowerer = lowerer
        self.specs = specs
        self._unsure = _maybe_unbound(body, specs)
        em = lowerer.em
        self._data: dict[str, Any] = {}
        self._extents: dict[str, list[Any]] = {}
        for name, spec in specs.items():
            self._data[name] = em.alloca(PTR, f"{name}.data")
            self._extents[name] = [em.alloca(I64, f"{name}.shape{k}") for k in range(spec.ndim)]
            with em.builder.goto_block(em.entry):
                em.builder.store(ir.Constant(PTR, None), self._data[name])
                for slot in self._extents[name]:
                    em.builder.store(ir.Constant(I64, 0), slot)
            lowerer.array_slots[name] = self._loader(name)
        self._alloc = em.declare(ALLOCATOR[0], PTR, [I64, I64])
        if "noalias" not in self._alloc.return_value.attributes:
            self._alloc.return_value.add_attribute("noalias")
        self._free = em.declare(ALLOCATOR[1], ir.VoidType(), [PTR])

    def _loader(self, name: str) -> Callable[[], ArrayRef]:
        return lambda: self.ref(name)

    def ref(self, name: str) -> ArrayRef:
        """The array's current data pointer and extents (loaded from its slots where it is used)."""
        bld = self.lowerer.em.builder
        data = bld.load(self._data[name], typ=PTR, name=name)
        self._check_bound(name, data)
        extents = tuple(Val(bld.load(slot, typ=I64), INT, lo=0) for slot in self._extents[name])
        return ArrayRef(data, self.specs[name].dtype, extents)

    def free_all(self, builder: Any) -> None:
        """Free every local array (at an exit of the kernel; null slots are no-ops)."""
        for slot in self._data.values():
            builder.call(self._free, [builder.load(slot, typ=PTR)])

    def take(self, name: str) -> tuple[Any, list[Any]]:
        """Move the array out of its slot (a returned array): its data pointer and extents; the slot is null."""
        bld = self.lowerer.em.builder
        data = bld.load(self._data[name], typ=PTR)
        self._check_bound(name, data)
        extents = [bld.load(slot, typ=I64) for slot in self._extents[name]]
        bld.store(ir.Constant(PTR, None), self._data[name])
        return data, extents

    def _check_bound(self, name: str, data: Any) -> None:
        """UnboundLocalError where the array may not be assigned yet (Python's semantics, never a null read)."""
        if name in self._unsure:
            em = self.lowerer.em
            em.check(em.builder.icmp_unsigned("==", data, ir.Constant(PTR, None)), Status.UNBOUND_ARRAY)

    # ---- creation --------------------------------------------------------------------------------
    def create(self, name: str, creation: Creation) -> None:
        """Lower ``name = np.<creator>(...)``: check the extents, free the old buffer, allocate and fill."""
        low, em = self.lowerer, self.lowerer.em
        bld = em.builder
        spec = self.specs[name]
        extents = self._extents_of(creation)
        fill = low.expr(creation.fill) if creation.fill is not None else None
        zero = ir.Constant(I64, 0)
        for extent in extents:
            if extent.lo is None or extent.lo < 0:
                em.check(bld.icmp_signed("<", extent.value, zero), Status.NEGATIVE_DIMENSIONS)
        count: Any = ir.Constant(I64, 1)
        overflow: Any = ir.Constant(I1, 0)
        for extent in extents:
            count, over = self._umul(count, extent.value)
            overflow = bld.or_(overflow, over)
        nbytes, over = self._umul(count, ir.Constant(I64, spec.dtype.dtype.itemsize))
        overflow = bld.or_(overflow, over)
        em.check(bld.or_(overflow, bld.icmp_signed("<", nbytes, zero)), Status.ARRAY_TOO_BIG)
        data_slot = self._data[name]
        bld.call(self._free, [bld.load(data_slot, typ=PTR)])
        rounded = bld.and_(
            bld.add(
                bld.select(bld.icmp_unsigned("==", nbytes, zero), ir.Constant(I64, 1), nbytes),
                ir.Constant(I64, ALIGNMENT - 1),
            ),
            ir.Constant(I64, -ALIGNMENT),
        )
        data = bld.call(self._alloc, [ir.Constant(I64, ALIGNMENT), rounded])
        bld.store(data, data_slot)
        for slot, extent in zip(self._extents[name], extents, strict=True):
            bld.store(extent.value, slot)
        em.check(bld.icmp_unsigned("==", data, ir.Constant(PTR, None)), Status.NO_MEMORY)
        kind = creation.fill_kind
        if kind == "copy" and creation.like is not None:
            self._copy(data, low.array_ref(creation.like), count, nbytes)
        elif kind == "zero":
            memset = em.declare("llvm.memset.p0.i64", ir.VoidType(), [PTR, I8, I64, I1])
            bld.call(memset, [data, ir.Constant(I8, 0), nbytes, ir.Constant(I1, 0)])
        elif kind != "none":
            value = fill if fill is not None else em.const(INT, 1)
            self._fill(data, spec.dtype, count, value)

    def _extents_of(self, creation: Creation) -> list[Val]:
        low = self.lowerer
        if creation.like is not None:
            return list(low.array_ref(creation.like).shape)
        shape = creation.shape
        if isinstance(shape, ast.Attribute) and shape.attr == "shape":
            return list(low.array_ref(shape.value).shape)
        items = shape.elts if isinstance(shape, ast.Tuple) else [shape]
        extents = []
        for item in items:
            if item is None:
                continue
            value = low.expr(item)
            if value.ty.kind != "int":
                raise low.error(item, f"array dimensions must be integers, got {value.ty}")
            extents.append(low.em.convert(value, INT))
        return extents

    def _umul(self, a: Any, b: Any) -> tuple[Any, Any]:
        bld = self.lowerer.em.builder
        pair = bld.umul_with_overflow(a, b)
        return bld.extract_value(pair, 0), bld.extract_value(pair, 1)

    def _copy(self, data: Any, source: ArrayRef, count: Any, nbytes: Any) -> None:
        """Copy ``source``'s elements into ``data`` in C order: one ``memcpy`` when the source is
        C-contiguous, else an element loop through its strides (a view or a strided argument)."""
        em = self.lowerer.em
        bld = em.builder
        if source.strides is None:
            memcpy = em.declare("llvm.memcpy.p0.p0.i64", ir.VoidType(), [PTR, PTR, I64, I1])
            bld.call(memcpy, [data, source.ptr, nbytes, ir.Constant(I1, 0)])
            return

        def copy(k: Any) -> None:
            indexes: list[Any] = []
            rest = k
            for extent in reversed(source.shape):  # C order: the last index varies fastest
                indexes.insert(0, bld.urem(rest, extent.value))
                rest = bld.udiv(rest, extent.value)
            offset = self.lowerer.strided_offset(source, indexes)
            etype = source.dtype.ir_type
            item = bld.load(bld.gep(source.ptr, [offset], source_etype=etype), typ=etype)
            bld.store(item, bld.gep(data, [k], inbounds=True, source_etype=etype))

        self._each(count, "copy", copy)

    def _fill(self, data: Any, dtype: ScalarType, count: Any, value: Val) -> None:
        """Store ``value`` (converted to the element type) into elements ``0 .. count-1``."""
        bld = self.lowerer.em.builder

        def fill(k: Any) -> None:
            self.lowerer.store_element(bld.gep(data, [k], inbounds=True, source_etype=dtype.ir_type), dtype, value)

        self._each(count, "fill", fill)

    def _each(self, count: Any, label: str, body: Callable[[Any], None]) -> None:
        """Emit ``body(k)`` for every element index ``k`` in ``0 .. count-1`` (an i64 counted loop)."""
        em = self.lowerer.em
        bld = em.builder
        counter = em.alloca(I64, f"{label}.k")
        bld.store(ir.Constant(I64, 0), counter)
        head, loop, done = em.block(f"{label}.cond"), em.block(f"{label}.body"), em.block(f"{label}.end")
        bld.branch(head)
        em.position(head)
        k = bld.load(counter, typ=I64)
        bld.cbranch(bld.icmp_unsigned("<", k, count), loop, done)
        em.position(loop)
        body(k)
        bld.store(bld.add(k, ir.Constant(I64, 1), flags=["nuw"]), counter)
        bld.branch(head)
        em.position(done)
