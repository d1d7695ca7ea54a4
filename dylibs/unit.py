"""``Unit``: one removable variant, linked as its own JIT library in a generation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import UnitStateError
from .symbols import SymbolMap

if TYPE_CHECKING:
    from .generation import Generation

__all__ = ["Unit"]


class Unit:
    """An immutable handle on linked code: exported names map to addresses.

    Ownership: the :class:`Session` that linked the unit keeps it (so the garbage collector never frees
    code); the unit's code lives until :meth:`retire`. A *held* unit (one a patch table slot has
    published) refuses retirement, so code a thread may be running in is never freed by mistake.
    ``object_code`` is kept so a live unit can be re-linked into a newer generation (migration).
    """

    __slots__ = ("_exports", "_holds", "_retired", "_tracker", "generation", "name", "object_code", "symbols")

    def __init__(
        self,
        name: str,
        generation: Generation,
        tracker: Any,
        object_code: bytes,
        exports: Mapping[str, int],
        symbols: SymbolMap,
    ) -> None:
        self.name = name
        self.generation = generation
        self.object_code = object_code
        self.symbols = symbols
        self._tracker = tracker
        self._exports = dict(exports)
        self._holds = 0
        self._retired = False

    @property
    def exports(self) -> tuple[str, ...]:
        """Names whose addresses this unit exports."""
        return tuple(self._exports)

    @property
    def retired(self) -> bool:
        """True once the code has been freed."""
        return self._retired

    @property
    def holds(self) -> int:
        """How many holders (patch table slots) still publish this unit."""
        return self._holds

    def address(self, name: str) -> int:
        """The address of exported symbol ``name``."""
        if self._retired:
            raise UnitStateError(f"unit {self.name} is retired; its code is gone")
        try:
            return self._exports[name]
        except KeyError:
            raise UnitStateError(
                f"unit {self.name} does not export {name!r} (exports: {', '.join(self._exports)})"
            ) from None

    def hold(self) -> None:
        """Mark the unit as published somewhere: :meth:`retire` refuses until :meth:`release`."""
        with self.generation.lock:
            if self._retired:
                raise UnitStateError(f"unit {self.name} is retired and cannot be held")
            self._holds += 1

    def release(self, *, retire: bool = False) -> bool:
        """Undo one :meth:`hold`; returns True when that was the last hold.

        With ``retire=True`` the last release also retires the unit, atomically: no :meth:`hold` can come
        between the count reaching zero and the code being freed (a unit shared by several slots is
        freed exactly once, by whichever lets go last, and a new holder either gets it first or is
        refused).
        """
        with self.generation.lock:
            if self._holds == 0:
                raise UnitStateError(f"unit {self.name} is not held")
            self._holds -= 1
            last = self._holds == 0
            if last and retire:
                self.generation.free(self)
            return last

    def retire(self) -> None:
        """Free the unit's code now. Safe to call twice; refused while the unit is held.

        The caller promises no thread runs in the unit any more; for published code the patch table's
        reclaimer makes that promise after an epoch has drained.
        """
        self.generation.free(self)

    def _dispose(self) -> None:
        """Called by the generation under its lock: close the resource tracker exactly once."""
        self._retired = True
        tracker, self._tracker = self._tracker, None
        if tracker is not None:
            tracker.close()

    def __repr__(self) -> str:
        state = "retired" if self._retired else f"held={self._holds}"
        return f"<Unit {self.name} gen={self.generation.index} {state}>"
