"""Static types of array views: which expressions are views, which locals hold them, which are contiguous.

A view is ``A[i]`` of a 2-D/3-D array, or any subscript with a slice item (``a[lo:hi:step]``, ``A[:, j]``);
its rank is the array's minus its integer items. A *view local* is a name assigned views: it holds views of
one element type and rank throughout the kernel and never a scalar (Python would allow both; a kernel
local has one static type), so the typing and lowering know its rank everywhere. The checks here run at
parse time on the AST alone; the lowering is :mod:`autotune.lang._views`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace

from ..errors import KernelSyntaxError
from ._model import ArrayInfo, ViewLocal

__all__ = [
    "ArrayLookup",
    "array_info",
    "contiguous_locals",
    "contiguous_pattern",
    "find_views",
    "is_view",
    "subscript_items",
    "view_type_problem",
]

ArrayLookup = Callable[[str], ArrayInfo | None]
ErrorFn = Callable[[ast.AST, str], KernelSyntaxError]


def subscript_items(node: ast.Subscript) -> list[ast.expr]:
    """The items of ``a[i, j:k]`` (one item for ``a[i]``)."""
    return list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]


def array_info(node: ast.expr, lookup: ArrayLookup) -> ArrayInfo | None:
    """The static type of ``node`` if it is an array or a view (``None`` for elements and scalars)."""
    if isinstance(node, ast.Name):
        return lookup(node.id)
    if not isinstance(node, ast.Subscript):
        return None
    base = array_info(node.value, lookup)
    if base is None:
        return None
    items = subscript_items(node)
    if len(items) > base.ndim:
        return None
    kept = base.ndim - sum(not isinstance(i, ast.Slice) for i in items)
    return ArrayInfo(base.dtype, kept, base.roots) if kept else None


def is_view(node: ast.Subscript, ndim: int) -> bool:
    """Whether ``node`` (indexing an array of ``ndim`` dimensions) is a view rather than one element."""
    items = subscript_items(node)
    return len(items) < ndim or any(isinstance(i, ast.Slice) for i in items)


def find_views(
    body: Sequence[ast.stmt],
    arrays: ArrayLookup,
    scalars: set[str],
    error: ErrorFn,
    created: Collection[str] = (),
) -> dict[str, ViewLocal]:
    """The view locals of a kernel body (``arrays``: parameters and module arrays; ``scalars``: scalar
    parameters). KernelSyntaxError where a local would hold views of two ranks or types, or a view and a
    scalar."""
    assigns: list[tuple[str, ast.expr, ast.stmt]] = []
    scalar_only: dict[str, ast.AST] = {}
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assign):
                assigns.extend((t.id, node.value, node) for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.AugAssign | ast.AnnAssign) and isinstance(node.target, ast.Name):
                scalar_only.setdefault(node.target.id, node)
            elif isinstance(node, ast.For) and isinstance(node.target, ast.Name):
                scalar_only.setdefault(node.target.id, node)
    views: dict[str, ViewLocal] = {}

    def lookup(name: str) -> ArrayInfo | None:
        local = views.get(name)
        if local is not None:
            return ArrayInfo(local.dtype, local.ndim, local.roots)
        if name in created:  # an array the kernel creates: assigned, but an array all the same
            return arrays(name)
        return None if name in scalars or any(a[0] == name for a in assigns) else arrays(name)

    changed = True
    while changed:
        changed = False
        for name, value, stmt in assigns:
            if name in created:
                continue
            info = array_info(value, lookup)
            if info is None:
                continue
            found = views.get(name)
            if found is None:
                views[name] = ViewLocal(info.dtype, info.ndim, info.roots, (value,))
                changed = True
                continue
            if (found.dtype, found.ndim) != (info.dtype, info.ndim):
                raise error(
                    stmt,
                    f"local '{name}' is assigned a {info.ndim}-D {info.dtype} view here and a {found.ndim}-D "
                    f"{found.dtype} view elsewhere; a local holds views of one rank and element type",
                )
            if value not in found.values or not info.roots <= found.roots:
                values = found.values if value in found.values else (*found.values, value)
                views[name] = replace(found, roots=found.roots | info.roots, values=values)
                changed = True
    for name, value, stmt in assigns:
        if name in views and array_info(value, lookup) is None:
            raise error(
                stmt,
                f"local '{name}' is assigned an array view elsewhere and '{ast.unparse(value)}' here; a local "
                "holds either array views (of one rank) or scalars: use another name",
            )
    for name, node in scalar_only.items():
        if name in views:
            raise error(node, f"'{name}' holds array views; it cannot be a loop variable or take +=, or a type")
    for name in scalars:
        if name in views:
            raise error(next(s for n, _, s in assigns if n == name), f"scalar parameter '{name}' cannot hold a view")
    return views


def contiguous_pattern(items: Sequence[ast.expr], ndim: int) -> bool:
    """Whether indexing a C-contiguous array of ``ndim`` dimensions with ``items`` gives a C-contiguous view:
    integers, then at most one slice of step 1, then only full slices (``A[i]``, ``A[i, lo:hi]``, ``A[lo:hi]``)."""
    padded = [*items, *(ast.Slice() for _ in range(ndim - len(items)))]
    k = 0
    while k < len(padded) and not isinstance(padded[k], ast.Slice):
        k += 1
    if k < len(padded):
        first = padded[k]
        assert isinstance(first, ast.Slice)
        if not _unit_step(first):
            return False
        k += 1
    return all(isinstance(i, ast.Slice) and i.lower is None and i.upper is None and _unit_step(i) for i in padded[k:])


def _unit_step(item: ast.Slice) -> bool:
    step = item.step
    return step is None or (isinstance(step, ast.Constant) and step.value == 1 and not isinstance(step.value, bool))


def contiguous_locals(
    views: Mapping[str, ViewLocal], lookup: ArrayLookup, base_contiguous: Callable[[str], bool]
) -> set[str]:
    """The view locals every assigned view of which is C-contiguous (given which arrays are; ``lookup``
    types arrays and view locals)."""
    good = set(views)

    def contiguous(node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in good if node.id in views else base_contiguous(node.id)
        if isinstance(node, ast.Subscript):
            base = array_info(node.value, lookup)
            items = subscript_items(node)
            return base is not None and contiguous(node.value) and contiguous_pattern(items, base.ndim)
        return False

    changed = True
    while changed:
        changed = False
        for name in list(good):
            if not all(contiguous(v) for v in views[name].values):
                good.discard(name)
                changed = True
    return good


def view_type_problem(node: ast.expr) -> str:
    """Why an array or view cannot be used where a scalar is expected."""
    return (
        f"'{ast.unparse(node)}' is an array view, not a value: assign it to a name (row = A[i]), index it, "
        "or take len()/.shape/.size of it"
    )
