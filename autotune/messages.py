"""What the host and the tuning worker say to each other: one request, notices, one reply.

The host sends a :class:`Step`; the worker may send notices while it works (:class:`Running` before any
candidate code runs, so the host knows what to blame and when to give up; :class:`NeedIR` and
:class:`NeedPython` for the parts that are user code and stay in the host) and ends with a
:class:`StepReply`. Everything here pickles; the framing is :func:`dylibs.write_message`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .sample import SampleLayout
from .space import Value
from .spec import KernelSpec

__all__ = [
    "EventRecord",
    "NeedIR",
    "NeedPython",
    "Notice",
    "Publish",
    "Running",
    "Step",
    "StepReply",
]


@dataclass(frozen=True)
class Step:
    """Run one trial of search ``search`` (a host-wide id: one study may be searched by several kernels
    or cache directories). ``spec`` and ``samples`` (captured calls, the first one timed) come along when
    this worker has not seen the search yet; ``failed`` lists trials an earlier worker died in, as (trial
    number, reason), to be recorded as FAIL before anything else touches the study, and ``revoked`` live
    variants the host rolled back after the worker died checking them; ``elapsed`` is how long the search
    has run in earlier workers (its time budget carries over). With ``fresh`` captures the step checks the
    live variant on them instead of running a trial. ``extents`` is False once the reference crashed on
    inputs cut to other extents; ``time_left`` is what remains of a caller's ``tune(timeout=)``."""

    search: int
    spec: KernelSpec | None = None
    samples: tuple[SampleLayout, ...] = ()
    failed: tuple[tuple[int, str], ...] = ()
    elapsed: float = 0.0
    fresh: tuple[SampleLayout, ...] = ()
    revoked: tuple[tuple[dict[str, Value], str], ...] = ()
    extents: bool = True
    time_left: float | None = None


@dataclass(frozen=True)
class Running:
    """Candidate code is about to run: ``trial`` (None while preparing) must finish within ``limit``.
    ``phase`` says what runs outside a trial: ``"reference"`` (the reference variant on the captured call),
    ``"extents"`` (the reference on inputs cut to other extents), ``"live"`` (the live variant being
    checked), or ``""``."""

    search: int
    trial: int | None
    params: dict[str, Value]
    limit: float
    phase: str = ""


@dataclass(frozen=True)
class NeedIR:
    """The worker needs the expert route's IR for ``params``; the host answers with the text (or an error)."""

    params: dict[str, Value]


@dataclass(frozen=True)
class NeedPython:
    """The worker asks for the reference outputs of the Python function on the sample (expert route), to
    be given up after ``budget`` seconds of CPU (the answer is then a string saying so)."""

    search: int
    budget: float = 5.0


Notice = Running | NeedIR | NeedPython


@dataclass(frozen=True)
class EventRecord:
    """A kernel event the host adds to ``kernel.events`` (see :class:`autotune.events.Event`)."""

    kind: str
    trial: int | None = None
    params: dict[str, Value] | None = None
    value: float | None = None
    ns_per_call: float | None = None
    detail: str = ""


@dataclass(frozen=True)
class Publish:
    """Make ``params`` live: the host links ``object_code`` to its real host globals and swaps it in."""

    params: dict[str, Value]
    value: float
    object_code: bytes


@dataclass
class StepReply:
    """What one step did: events in order, at most one publish, progress, and log lines for the host."""

    events: list[EventRecord] = field(default_factory=list)
    publish: Publish | None = None
    trials_run: int = 0
    done: bool = False
    reason: str = ""
    logs: list[tuple[int, str]] = field(default_factory=list)
    error: str = ""
