"""``Kernel``: what ``@tunable`` returns. Dispatch, the default variant, and the hooks the tuner uses.

Calls take one of two paths. The first call for a key (and every call of a kernel with a ``key=``
function) runs :meth:`Kernel.__call__` in Python: it checks the arguments, makes sure a variant is
published in the key's slot, and hands the call to that slot's native entry. After the first call of a
kernel without ``key=``, the instance's class is switched to a per-kernel subclass whose ``__call__`` *is*
the native entry, so a call runs no Python bytecode at all (see :mod:`autotune.entry`).
"""

from __future__ import annotations

import functools
import logging
import numbers
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from dylibs import Unit, UnitStateError
from patcher import Slot

from .abi import c_signature
from .arguments import Arguments
from .config import current
from .entry import fast_path_supported, make_entry, set_strided
from .errors import KernelTypeError, SpaceError, TuningError
from .events import EventLog
from .lang import KernelInfo, uses_prange
from .pool import parallel_values
from .runtime import runtime
from .sample import SharedSample
from .schedule import Schedule
from .source import KernelSource, Lowerer, python_source, strided_lowerer
from .space import BUILTIN_KNOBS, Space, Value
from .strided import StridedForms
from .variant import Variants

__all__ = ["NO_KEY", "Binding", "Kernel", "Tuning"]

#: The key of a kernel without ``key=`` (and of keys folded beyond ``max_keys``).
NO_KEY: Hashable = "__default__"


@dataclass
class Binding:
    """One slot of a kernel: the key it serves, its native entry, the live parameters and the captured
    calls that tuning runs on (copied into shared memory for the tuning worker): ``sample`` (the first,
    which trials are timed on), ``captures`` (later ones the worker already has) and ``fresh`` (captured
    since the tuner last asked, not yet checked)."""

    key: Hashable
    slot: Slot
    entry: Callable[..., Any]
    live: dict[str, Value]
    sample: SharedSample | None = None
    captures: list[SharedSample] = field(default_factory=list)
    fresh: list[SharedSample] = field(default_factory=list)
    capture_wanted: bool = False
    #: the kernel class whose ``__call__`` is this binding's entry (made once: a recapture leaves it and
    #: the next call returns to it)
    fast_class: type[Kernel] | None = None


class Tuning(Protocol):
    """What a kernel needs of a tuner (the tuner registers itself; the kernel never imports it)."""

    def tune(
        self, kernel: Kernel, *, n_trials: int | None = None, timeout: float | None = None, progress: bool = True
    ) -> dict[Any, Any]: ...


class Kernel:
    """A tunable kernel: call it like the Python function; it runs the best variant found so far.

    Attributes: ``py_func`` (the undecorated function, the semantic reference), ``space`` (the knobs),
    ``signature`` (the C declaration of every variant), ``params`` and ``ret`` (the native ABI).
    """

    def __init__(
        self,
        func: Callable[..., Any],
        space: Space,
        *,
        key: Callable[..., Hashable] | None = None,
        name: str | None = None,
        source: tuple[KernelSource, Lowerer] | None = None,
        schedule: bool = False,
        noalias: bool = False,
    ) -> None:
        functools.update_wrapper(self, func)
        self.py_func = func
        self.name = name or f"{func.__module__}.{func.__qualname__}"
        if noalias and source is not None:
            raise SpaceError("noalias=True needs a kernel in the kernel language (not the IR route)")
        info, lowerer = source or python_source(func, noalias=noalias)
        self.info: KernelSource = info
        #: the loop-nest schedule knobs (``schedule=True``), or None
        self.schedule: Schedule | None = None
        if schedule:
            if not isinstance(info, KernelInfo):
                raise SpaceError("schedule=True needs a kernel in the kernel language (not the IR route)")
            self.schedule = Schedule(info, noalias=noalias)
            space = _with_schedule(self.schedule, space)
            lowerer = self.schedule.lowerer(info)
        elif space.schedule_knobs():
            raise SpaceError(f"schedule knob(s) {', '.join(space.schedule_knobs())} need schedule=True")
        if source is None:  # the expert route checks its generator's parameters instead
            _check_constants(self.info, space)
        space = _with_parallel(self.info, space)
        self.space = space
        self.key_fn = key
        self.variants = Variants(self.info, space, lowerer)
        default = self.variants.lower(space.default)  # type errors surface at decoration, not first call
        self.signature: str = default.c_signature
        self.params = default.params
        self.ret = default.ret
        #: what each nonzero status of :meth:`address`'s ABI raises (``statuses.error(code)``)
        self.statuses = default.statuses
        strided = strided_lowerer(info)
        if self.schedule is not None and isinstance(info, KernelInfo):
            strided = self.schedule.lowerer(info, strided=True)
        self.arguments = Arguments(
            func.__name__, self.params, self.ret, self.signature, self.statuses, strided=strided is not None
        )
        #: the strided forms of the variants, for arrays that are not C-contiguous (None: expert route)
        self.strided = None
        if strided is not None:
            signature = c_signature(self.params, self.ret, strided=True)
            self.strided = StridedForms(self.name, self.info, space, strided, signature)
        self._lock = threading.RLock()
        self._bindings: dict[Hashable, Binding] = {}
        self._start_units: dict[str, Unit] = {}  # see _bind: start parameters -> the unit keys share
        self._folded = False  # a key beyond max_keys was folded onto the default key (logged once)
        self._listeners: list[Callable[[Kernel, Binding], None]] = []
        self.events = EventLog()
        #: ``initial(kernel, key) -> (params, value)``: what a new key starts on (the tuner's stored best and
        #: its time relative to the default), or None for the default.
        self.initial: Callable[[Kernel, Hashable], tuple[dict[str, Value], float] | None] = lambda kernel, key: None
        #: the tuner this kernel is attached to (``@tunable`` attaches the process-wide one)
        self.tuning: Tuning | None = None

    # -- calling ---------------------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Check the arguments, publish a variant for this key if none is yet, and call it."""
        if self.key_fn is not None:  # keyed: one Python call for the key, then the key's native entry
            try:
                known = self._bindings.get(self.key_fn(*args, **kwargs))
            except RecursionError:  # caught here, at the deepest call, so no caller above retries it
                raise KernelTypeError(
                    None, f"{self.name}: the key= function calls the kernel (re-entrant key=)"
                ) from None
            except KernelTypeError:
                raise
            except Exception:  # bad arguments (or a bad key): the full check below names the problem
                known = None
            if known is not None and known.sample is not None and not known.capture_wanted:
                return known.entry(*args, **kwargs)
        checked = self.arguments.check(self.arguments.bind(args, kwargs))
        key = NO_KEY if self.key_fn is None else _checked_key(self.name, self.key_fn(*args, **kwargs))
        binding = self._bindings.get(key) or self._bind(key, checked)
        if binding.sample is None and checked:  # bound by address() before any call: capture this one
            binding.sample = SharedSample(checked)
        elif binding.capture_wanted and checked:
            self._capture(binding, checked)
        if self.key_fn is None and fast_path_supported() and type(self) is Kernel and not binding.capture_wanted:
            if binding.fast_class is None:
                binding.fast_class = _fast_class(binding.entry)
            self.__class__ = binding.fast_class
        return self._call(binding.slot, binding.live, checked, binding)

    def _call(self, slot: Slot, live: Mapping[str, Value], checked: list[Any], binding: Binding | None) -> Any:
        """The checked call through ``slot``, or through the strided form of ``live`` for arrays that are
        not C-contiguous (:mod:`autotune.strided`), which the binding's native entry then calls directly
        until the live variant changes."""
        if self.strided is None or self.arguments.contiguous(checked):
            return self.arguments.call(slot.address, checked)
        address = self.strided.address(slot, live)
        if binding is not None:
            with self._lock:
                if binding.live is live:  # not swapped meanwhile (publish resets the entry's strided target)
                    set_strided(binding.entry, address)
        return self.arguments.call(address, checked, strided=True)

    def _bind(self, key: Hashable, checked: list[Any]) -> Binding:
        """``key``'s binding, made at its first call: a slot, the key's start variant and a native entry.

        Memory per key is what this decides (a kernel may see thousands of keys): keys that start on the
        same parameters (the default, or the same stored best) publish one shared unit rather than a link
        each (see :meth:`_start_unit`), the slot's trampoline comes from a batch (:mod:`patcher.slot`) and
        the entry shares its code with every entry of the same shape (:mod:`autotune.entry`).

        At most ``max_keys`` (:class:`autotune.config.Config`) keys get a slot of their own. A new key
        beyond that is *folded*: it gets the default key's binding (``"__default__"``, made then if the
        kernel has none; it is not counted in the cap) and runs what that slot runs. The first fold is
        logged once per kernel at WARNING. A folded key is not remembered, so it costs no memory; its
        calls take the checked Python path.
        """
        with self._lock:
            existing = self._bindings.get(key)
            if existing is not None:
                return existing
            is_default = isinstance(key, str) and key == NO_KEY
            own = len(self._bindings) - (NO_KEY in self._bindings)
            if not is_default and own >= current().max_keys:
                return self._fold(key, checked)
            shared = runtime()
            slot = shared.table.slot(f"{self.name}[{key!r}]#{id(self)}", self.signature)
            shared.reclaimed[slot] = lambda unit: self.events.add("reclaim", key, detail=unit.name)
            params, value = self._start_params(key)
            self._start_unit(slot, params)
            if params != self.space.default:
                self.events.add("adopt", key, params=dict(params), value=value, detail="stored best at first call")

            made: list[Binding] = []  # the binding, once made: the fallback follows its live parameters

            def fallback(*args: Any, **kwargs: Any) -> Any:
                values = self.arguments.check(self.arguments.bind(args, kwargs))
                binding = made[0] if made else None
                return self._call(slot, binding.live if binding else params, values, binding)

            entry: Callable[..., Any] = fallback
            if fast_path_supported():
                raiser = self.statuses.raise_for
                entry = make_entry(
                    self.info.name,
                    self.params,
                    self.ret,
                    slot.address,
                    fallback,
                    raiser,
                    strided=self.strided is not None and any(p.kind == "array" for p in self.params),
                )
            sample = SharedSample(checked) if checked or not self.arguments.params else None
            binding = Binding(key, slot, entry, params, sample)
            made.append(binding)
            self._bindings[key] = binding
            listeners = list(self._listeners)
        for listener in listeners:
            listener(self, binding)
        return binding

    def _start_unit(self, slot: Slot, params: dict[str, Value]) -> None:
        """Publish the variant ``params`` in a new key's slot, sharing the unit earlier keys published.

        A unit counts its holds (one per slot publishing it), and the reclaimer releases a slot's hold
        only after that slot's grace period and retires the unit when the last hold goes. So sharing is
        safe, and the entry here is only a hint: a unit already retired (every key that held it has moved
        on) or refused by ``hold`` (retired meanwhile) is replaced by a fresh build, as is one linked into
        a sealed generation (new keys then stop pinning a generation the session wants to close).
        Called with the kernel's lock held.
        """
        name = Space.key(params)
        unit = self._start_units.get(name)
        if unit is not None and not unit.retired and not unit.generation.sealed:
            try:
                slot.publish(unit, "kernel")
                return
            except UnitStateError:  # retired since the check: build a fresh one
                pass
        for stale in [k for k, u in self._start_units.items() if u.retired]:
            del self._start_units[stale]
        unit = self.variants.build(runtime().session, params)
        slot.publish(unit, "kernel")
        self._start_units[name] = unit

    def _fold(self, key: Hashable, checked: list[Any]) -> Binding:
        """The default key's binding, for ``key`` beyond ``max_keys`` (called with the lock held)."""
        default = self._bindings.get(NO_KEY) or self._bind(NO_KEY, checked)
        if not self._folded:
            self._folded = True
            logging.getLogger("autotune").warning(
                "%s: key %r runs in the default key's slot (variant %s): the kernel already has "
                "max_keys=%d keys with a slot of their own (autotune.configure(max_keys=...)); every later "
                "new key is folded the same way (logged once)",
                self.name,
                key,
                Space.key(default.live),
                current().max_keys,
            )
        return default

    def _start_params(self, key: Hashable) -> tuple[dict[str, Value], float | None]:
        """The stored best for ``key`` (with its recorded value) when there is a valid one, else the default."""
        try:
            stored = self.initial(self, key)
            if stored is not None:
                return self.space.validate(stored[0]), stored[1]
        except Exception as exc:  # a stale or unreadable record must never break a call
            logging.getLogger("autotune").warning("%s: ignoring stored parameters: %s", self.name, exc)
        return self.space.default, None

    def _capture(self, binding: Binding, checked: list[Any]) -> None:
        with self._lock:
            if not binding.capture_wanted:
                return
            binding.capture_wanted = False
            binding.fresh.append(SharedSample(checked))

    def recapture(self, binding: Binding) -> None:
        """Capture ``binding``'s next call (into ``binding.fresh``) for the tuner to check the live variant
        on. A kernel on its native fast path goes back to the Python path for that one call."""
        with self._lock:
            binding.capture_wanted = True
            if type(self) is not Kernel:
                self.__class__ = Kernel

    # -- tuning ----------------------------------------------------------------------------------------
    def tune(
        self, n_trials: int | None = None, timeout: float | None = None, *, progress: bool = True
    ) -> dict[Any, Any]:
        """Run the tuner's search for this kernel now, in this thread; returns the live parameters (for a
        kernel with ``key=``: a dict key -> parameters, for every key called so far).

        Needs at least one call first (tuning runs on copies of real inputs). ``n_trials`` and ``timeout``
        bound this run; the study keeps everything for later runs and processes.
        """
        if self.tuning is None:
            raise TuningError(f"{self.name}: no tuner is attached (``@tunable`` attaches one)")
        return self.tuning.tune(self, n_trials=n_trials, timeout=timeout, progress=progress)

    def history(self) -> list[dict[str, Any]]:
        """Trials, swaps, adoptions and reclamations of this process, as records a notebook can plot."""
        return self.events.records()

    # -- the native side -------------------------------------------------------------------------------
    def address(self, key: Hashable = NO_KEY) -> int:
        """The stable native entry point (the slot's trampoline) for ``key``; publishes the default if needed.

        Native callers use the ABI of :attr:`signature` (:mod:`autotune.abi`): arrays as data pointer plus
        extents, an ``int32_t`` status result, and a trailing result pointer when the kernel returns a value.
        ``kernel.statuses.error(status)`` is the exception a nonzero status stands for (the kernel's own
        ``raise``/``assert`` statements included).
        """
        binding = self._bindings.get(key)
        if binding is None:
            binding = self._bind(key, [])
        return binding.slot.address

    @property
    def live(self) -> dict[str, Value] | dict[Hashable, dict[str, Value]] | None:
        """Parameters of the variant now live (per key when the kernel has ``key=``; None before a call)."""
        with self._lock:
            if self.key_fn is None:
                binding = self._bindings.get(NO_KEY)
                return dict(binding.live) if binding else None
            return {k: dict(b.live) for k, b in self._bindings.items()}

    @property
    def bindings(self) -> tuple[Binding, ...]:
        """Every key's binding (slot, entry, live parameters, sample inputs)."""
        with self._lock:
            return tuple(self._bindings.values())

    def compile(self, **params: Any) -> Unit:
        """Build the variant with these parameters (defaults fill the rest); the caller owns the unit."""
        return self.variants.build(runtime().session, params)

    def publish(self, binding: Binding, unit: Unit, params: Mapping[str, Value]) -> None:
        """Make ``unit`` (built from ``params``) the live variant of ``binding``: one atomic store."""
        with self._lock:
            binding.slot.publish(unit, "kernel")
            binding.live = dict(params)
            set_strided(binding.entry, 0)  # the strided form follows at the next strided call

    def inspect_llvm(self, **params: Any) -> str:
        """Optimised LLVM IR of the variant with these parameters."""
        return self.variants.optimized_ir(params)

    def inspect_schedule(self, **params: Any) -> str:
        """The variant's loop nests as Python after its schedule (``schedule=True``), with a comment per
        band: its loops, the legal orders and tiling, or why it is left as written."""
        if self.schedule is None or not isinstance(self.info, KernelInfo):
            raise SpaceError(f"{self.name} has no schedule knobs: decorate it with @tunable(schedule=True)")
        return self.schedule.describe(self.info, self.space.validate(params))

    def inspect_asm(self, **params: Any) -> str:
        """Host assembly of the variant with these parameters."""
        return self.variants.assembly(params)

    def add_listener(self, listener: Callable[[Kernel, Binding], None]) -> None:
        """Call ``listener(kernel, binding)`` whenever a new key gets its slot (the tuner subscribes)."""
        with self._lock:
            self._listeners.append(listener)
            existing = list(self._bindings.values())
        for binding in existing:
            listener(self, binding)

    def __repr__(self) -> str:
        return f"<Kernel {self.name} {self.signature} space={self.space.size} variants>"


def _with_schedule(schedule: Schedule, space: Space) -> Space:
    """``space`` with the schedule's knobs (the user's lists for some of them win)."""
    given = {name: space.values(name) for name in space.schedule_knobs()}
    others = {name: space.values(name) for name in space.names if name not in given}
    return Space({**others, **schedule.merged(given)}, default=space.default)


def _with_parallel(info: KernelSource, space: Space) -> Space:
    """A kernel with ``prange`` loops gets the ``parallel`` knob (unless its space names it); others never."""
    if "parallel" in space.names or not isinstance(info, KernelInfo) or not uses_prange(info):
        return space
    knobs = {name: space.values(name) for name in space.names}
    return Space({**knobs, "parallel": parallel_values()}, default=space.default)


def _check_constants(info: KernelSource, space: Space) -> None:
    consts = [p.name for p in info.params if p.kind == "const"]
    for name in space.user_constants():
        if name not in consts:
            raise SpaceError(
                f"{info.name}: {name!r} is neither a built-in knob ({', '.join(sorted(BUILTIN_KNOBS))}) nor a "
                f"Const parameter of the kernel ({', '.join(consts) or 'it has none'})"
            )
    for name in consts:
        if name not in space.names and name not in info.const_defaults:
            raise SpaceError(f"{info.name}: Const parameter {name!r} needs values in the space or a default")


def _checked_key(name: str, key: Any) -> Hashable:
    """``key`` if it can name a slot: hashable and equal to itself (a NaN would make a new slot per call)."""
    try:
        hash(key)
    except TypeError:
        raise KernelTypeError(None, f"{name}: key= returned an unhashable {type(key).__name__}") from None
    if _has_nan(key):
        raise KernelTypeError(None, f"{name}: key= returned {key!r}; a NaN key never equals itself")
    return key  # type: ignore[no-any-return]


def _has_nan(key: Any) -> bool:
    if isinstance(key, tuple | frozenset):
        return any(_has_nan(k) for k in key)
    return isinstance(key, numbers.Number) and bool(key != key)


def _fast_class(entry: Callable[..., Any]) -> type[Kernel]:
    """A subclass whose ``__call__`` is the native entry (a builtin, so it is not bound to ``self``)."""
    return type(Kernel.__name__, (Kernel,), {"__call__": entry, "__slots__": (), "__module__": Kernel.__module__})
