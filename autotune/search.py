"""``Search``: the tuning of one (kernel, key) — an optuna study driven by ask/tell, one trial per step.

Runs in the tuning worker process (see :mod:`autotune.server`), never in the application. A trial: ask ->
build the variant (object cache) -> validate its outputs against the reference on private copies of a
real call -> measure it against the incumbent in interleaved rounds -> tell -> publish only a clear win
(median ratio below ``1 - margin`` and a majority of rounds won): the reply carries the winner's object
code, which the host links and swaps in. Any failure becomes a FAIL trial with its reason; identical
parameters are never built or measured twice, across processes too (parameters already in the study
count as seen, failed ones included). Before candidate code runs, the search says so with a
:class:`~autotune.messages.Running` notice and a time limit, so a crash or hang is blamed on the trial.
Values are times relative to the default variant.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dylibs import CompileOptions, Session, Unit

from .errors import TuningError, ValidationError
from .lang import rebuild_function
from .measure import Comparison, compare
from .messages import EventRecord, NeedIR, NeedPython, Notice, Publish, Running, StepReply
from .records import BestRecords
from .space import Space, Value
from .spec import KernelSpec
from .storage import STALE_ERROR, open_study, worker_attrs
from .workspace import Outputs, Workspace, check_outputs

__all__ = ["Candidate", "Measure", "Notify", "Search"]

_DUPLICATES_BEFORE_SWEEP = 8
_PYTHON_REFERENCE_BUDGET_NS = 5e6  # check the default against Python when one native call takes < 5 ms


@dataclass
class Candidate:
    """A built variant: ``unit`` links to scratch globals and is only ever called by the search."""

    params: dict[str, Value]
    unit: Unit

    @property
    def address(self) -> int:
        return self.unit.address("kernel")


#: ``measure(candidate, incumbent) -> Comparison``; injectable so tuning logic is testable with a fake clock.
Measure = Callable[[Candidate, Candidate], Comparison]
#: ``notify(notice) -> answer``: tell the host something (and get its answer, for the ones that ask).
Notify = Callable[[Notice], Any]
#: Calls one trial costs, beside the comparisons: validation, warm-up and calibration.
_EXTRA_CALLS = 32


class _OverBudget(Exception):
    """The Python reference ran past its CPU budget."""


@contextmanager
def _cpu_budget(seconds: float) -> Iterator[None]:
    """Raise :class:`_OverBudget` in this code once it has used ``seconds`` of CPU (SIGPROF timer). Only the
    worker's main thread can take signals; elsewhere (the in-process logic tests) the code runs unbounded."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _OverBudget

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


class Search:
    """Tunes one binding of one kernel. Not thread-safe: the tuner runs one step at a time per search."""

    def __init__(
        self,
        number: int,
        spec: KernelSpec,
        sample: list[Any],
        storage: Any,
        session: Session,
        *,
        elapsed: float = 0.0,
        notify: Notify,
        measure: Measure | None = None,
        records: BestRecords | None = None,
        compiler: Callable[[str, CompileOptions], bytes] | None = None,
    ) -> None:
        self.number = number
        self.spec = spec
        self.name = spec.study
        self.config = spec.config
        self.records = records or BestRecords()
        self.space = spec.space
        self.arguments = spec.arguments()
        self.variants = spec.variants(self._ir_for)
        self.live = dict(spec.live)
        self.trials_run = 0
        self.done = False
        self.reason = ""
        self._storage = storage
        self._session = session
        self._sample = sample
        self._notify = notify
        self._reply = StepReply()
        self._incumbent_ns = 0.0
        self._measure_fn = measure
        self._compiler = compiler
        self._prepared = False
        self._elapsed = elapsed  # seconds this search ran in earlier workers
        self._started = 0.0
        self._seen: set[str] = set()
        self._duplicates = 0
        self._sweep: list[dict[str, Value]] = []
        self._incumbent: Candidate | None = None
        self._incumbent_value = 1.0
        self._best_number: int | None = None
        self._since_best = 0  # finished trials since the study's best (patience), kept here, not re-read
        self._study: Any = None
        self._workspace: Workspace | None = None
        self._expected: Outputs | None = None

    # -- setup -----------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Open the study, build the workspace and reference outputs, adopt a better stored result."""
        import optuna
        from optuna.trial import TrialState

        self._started = time.monotonic() - self._elapsed
        sampler = optuna.samplers.TPESampler(multivariate=True, n_startup_trials=8)
        self._study = open_study(self.name, self._storage, sampler)
        finished = self._study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
        # A trial failed only because its process died (killed with the application, say) says nothing
        # about its parameters: those are measured again. Every other failure is for good.
        self._seen = {
            Space.key(self._complete(t.params))
            for t in finished
            if self._valid(t.params) and t.user_attrs.get("error") != STALE_ERROR
        }
        if not finished:
            for seed in self._seeds():
                self._study.enqueue_trial(seed, skip_if_exists=True)
        self._workspace = Workspace(self.arguments, self._sample, self.spec.facts.globals)
        self._expected = self._reference_outputs()
        self._incumbent = self._build(dict(self.live))
        self._incumbent_ns = self._per_call(self._incumbent)
        self._incumbent_value = self._value_of_live()
        self._adopt_stored_best()
        if self._best_number is not None:
            self._since_best = sum(t.number > self._best_number for t in finished)
        self._prepared = True

    def _valid(self, params: dict[str, Any]) -> bool:
        try:
            self.space.validate(params)
        except Exception:
            return False
        return True

    def _complete(self, params: dict[str, Any]) -> dict[str, Value]:
        return self.space.validate(params)

    def _seeds(self) -> list[dict[str, Value]]:
        """The default first, then the usual winners on wide-vector CPUs (a prior, like Triton configs)."""
        default = self.space.default
        seeds = [default]
        if "vectorize" in self.space.names:
            wide = dict(default, vectorize=max(int(v) for v in self.space.values("vectorize")))
            seeds.append(wide)
            if "fastmath" in self.space.names and True in self.space.values("fastmath"):
                fast = dict(wide, fastmath=True)
                if "interleave" in self.space.names:
                    small = [int(v) for v in self.space.values("interleave") if 2 <= int(v) <= 4]
                    if small:
                        fast["interleave"] = max(small)
                seeds.append(fast)
        unique: dict[str, dict[str, Value]] = {Space.key(s): s for s in seeds}
        return list(unique.values())

    def _reference_params(self) -> dict[str, Value]:
        params = self.space.default
        if "fastmath" in self.space.names and False in self.space.values("fastmath"):
            params["fastmath"] = False
        return params

    def _reference_outputs(self) -> Outputs:
        """Outputs of the reference variant; cross-checked against the Python function when that is cheap."""
        workspace = self._require_workspace()
        reference = self._build(self._reference_params())
        self._running(None, self.space.default, self.config.trial_timeout * 10)  # preparing: a loose limit
        try:
            expected = workspace.run(reference.address)
            if self.spec.facts.globals:
                return expected
            workspace.reset()
            if workspace.time(reference.address, 1) > _PYTHON_REFERENCE_BUDGET_NS:
                return expected
            python = self._python_outputs()
            if python is None:
                return expected
            try:
                check_outputs(expected, python, rtol=self.config.rtol, atol=self.config.atol)
            except ValidationError as exc:
                self._log(
                    logging.ERROR,
                    f"{self.name}: the compiled reference disagrees with Python ({exc}); no variant will pass",
                )
                self._event("error", detail=f"reference differs from Python: {exc}")
                return python
            return expected
        finally:
            reference.unit.retire()

    def _python_outputs(self) -> Outputs | None:
        """The Python semantics on the sample: rebuilt here for the kernel language, asked of the host for
        the expert route (its reference is user code, which this process never imports)."""
        info = self.spec.info
        if info is None:
            answer = self._notify(NeedPython(self.number))
            return Outputs(answer) if isinstance(answer, dict) else None
        _, consts, _ = self.variants.split(self._reference_params())
        declared = {p.name for p in self.spec.facts.params if p.kind == "const"}
        function = rebuild_function(info)
        budget = self.config.reference_seconds
        try:
            with _cpu_budget(budget):
                return self._require_workspace().run_python(
                    function, {k: v for k, v in consts.items() if k in declared}
                )
        except _OverBudget:
            self._log(logging.INFO, f"{self.name}: Python reference check skipped: over its {budget:g} s budget")
            return None

    def _ir_for(self, params: Any) -> str:
        """The expert route's IR for ``params``, generated by the host."""
        answer = self._notify(NeedIR(dict(params)))
        if isinstance(answer, BaseException):
            raise answer
        if not isinstance(answer, str):
            raise TuningError(f"the host sent no IR for {Space.key(params)}")
        return answer

    def _value_of_live(self) -> float:
        """Time of the live variant relative to the default (1.0 when the default is live)."""
        live = self.space.validate(self.live)
        if live == self.space.default:
            return 1.0
        default = self._build(self.space.default)
        try:
            return self._measure(self._require_incumbent(), default).ratio
        finally:
            default.unit.retire()

    def _adopt_stored_best(self) -> None:
        """Publish the best variant the study ever published (maybe in another process) if clearly better.

        Only trials that won their comparison and its confirmation count: a trial recorded faster but
        within the margin was never good enough to swap in, and is not now either.
        """
        from optuna.trial import TrialState

        try:
            self._best_number = self._study.best_trial.number
        except ValueError:
            return
        published = [
            t
            for t in self._study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.user_attrs.get("published") and t.value is not None and self._valid(t.params)
        ]
        if not published:
            return
        best = min(published, key=lambda t: float(t.value))
        params = self._complete(best.params)
        clearly_better = best.value < self._incumbent_value * (1.0 - self.config.margin)
        if not clearly_better or params == self.space.validate(self.live):
            return
        candidate = self._build(params)
        try:
            self._running(None, params, self._limit())  # a crash here counts against preparing, not a trial
            self._check(candidate)
        except Exception as exc:
            self._log(logging.WARNING, f"{self.name}: stored best {params} no longer validates: {exc}")
            candidate.unit.retire()
            return
        self._publish(candidate, float(best.value), kind="adopt", trial=best.number)

    # -- one trial -------------------------------------------------------------------------------------
    def step(self) -> StepReply:
        """Run one trial (or decide the search is done); the reply says what happened."""
        self._reply = StepReply()
        before = self.trials_run
        try:
            self._step()
        except Exception as exc:  # a broken search is retired; the worker lives on
            self._reply.error = f"{type(exc).__name__}: {exc}"
            self._event("error", detail=self._reply.error)
            self.done, self.reason = True, f"error: {exc}"
        reply, self._reply = self._reply, StepReply()
        reply.trials_run = self.trials_run - before
        reply.done, reply.reason = self.done, self.reason
        return reply

    def _step(self) -> bool:
        if self.done:
            return False
        if not self._prepared:
            self.prepare()
        stop = self._stop_reason()
        if stop:
            self._finish(stop)
            return False
        trial = self._study.ask(self.space.distributions())
        for key, value in worker_attrs().items():
            trial.set_user_attr(key, value)
        params = self._complete(trial.params)
        key = Space.key(params)
        if key in self._seen:
            self._skip_duplicate(trial)
            return True
        self._seen.add(key)
        self._duplicates = 0
        self.trials_run += 1
        incumbent = self._require_incumbent()
        if params == incumbent.params:
            self._tell(trial, self._incumbent_value, None)
            return True
        candidate: Candidate | None = None
        try:
            candidate = self._build(params)
            self._running(trial.number, params, self._limit())
            self._check(candidate)
            comparison = self._measure(candidate, incumbent)
        except Exception as exc:  # any failure is a FAIL trial; the tuner lives on
            if candidate is not None:
                candidate.unit.retire()
            self._fail(trial, params, exc)
            return True
        if self._clear_win(comparison):
            # A clear win is measured again before anything is published: one lucky comparison on a busy
            # machine must not swap in a slower variant. The worse of the two ratios is what is recorded.
            try:
                confirm = self._measure(candidate, incumbent)
            except Exception as exc:
                candidate.unit.retire()
                self._fail(trial, params, exc)
                return True
            if confirm.ratio > comparison.ratio:
                comparison = confirm
            won = self._clear_win(confirm)
        else:
            won = False
        value = comparison.ratio * self._incumbent_value
        if won:
            trial.set_user_attr("published", True)
        self._tell(trial, value, comparison)
        if won:
            self._publish(candidate, value, kind="swap", trial=trial.number, comparison=comparison)
        else:
            candidate.unit.retire()
        return True

    def _clear_win(self, comparison: Comparison) -> bool:
        """Faster by the margin in the median and in a majority of rounds."""
        return comparison.ratio <= 1.0 - self.config.margin and comparison.wins * 2 > comparison.rounds

    def _stop_reason(self) -> str:
        evaluated = len(self._seen)
        if evaluated >= self.space.size:
            return "exhausted"
        if evaluated >= self.config.max_trials:
            return "budget"
        if time.monotonic() - self._started > self.config.max_seconds:
            return "timeout"
        if self._since_best >= self.config.patience:
            return "patience"
        return ""

    def _skip_duplicate(self, trial: Any) -> None:
        """A sampler repeat: prune it without building; after several, sweep the unseen grid points."""
        from optuna.trial import TrialState

        trial.set_user_attr("duplicate", True)
        self._study.tell(trial, state=TrialState.PRUNED)
        self._duplicates += 1
        if self._duplicates >= _DUPLICATES_BEFORE_SWEEP and not self._sweep:
            unseen = [p for p in self.space.grid() if Space.key(p) not in self._seen]
            random.shuffle(unseen)
            self._sweep = unseen[: max(self.config.max_trials - len(self._seen), 0)]
            for params in self._sweep:  # unseen by construction: optuna's own check scans every trial per call
                self._study.enqueue_trial(params, skip_if_exists=False)
            if not self._sweep:
                self._finish("exhausted")

    def _tell(self, trial: Any, value: float, comparison: Comparison | None) -> None:
        if comparison is not None:
            trial.set_user_attr("ns_per_call", comparison.candidate_ns)
            trial.set_user_attr("ratio_to_incumbent", comparison.ratio)
            trial.set_user_attr("rounds_won", comparison.wins)
        improved = self._best_number is None or value < self._best_value()  # before tell: tell changes the best
        self._study.tell(trial, value)
        params = self._complete(trial.params)
        ns = comparison.candidate_ns if comparison else None
        self._event("trial", trial=trial.number, params=params, value=value, ns_per_call=ns)
        if improved:
            self._best_number, self._since_best = trial.number, 0
        else:
            self._since_best += 1

    def _best_value(self) -> float:
        try:
            return float(self._study.best_value)
        except ValueError:
            return float("inf")

    def _fail(self, trial: Any, params: dict[str, Value], exc: BaseException) -> None:
        from optuna.trial import TrialState

        reason = f"{type(exc).__name__}: {exc}"
        trial.set_user_attr("error", reason[:2000])
        self._study.tell(trial, state=TrialState.FAIL)
        self._since_best += 1
        self._event("fail", trial=trial.number, params=params, detail=reason)

    def record_failures(self, failed: tuple[tuple[int, str], ...]) -> None:
        """Mark trials an earlier worker died in as FAIL with the host's reason (before stale cleanup could
        record them with a vaguer one); they count as seen, so they are never run again."""
        import optuna
        from optuna.trial import TrialState

        study = optuna.load_study(study_name=self.name, storage=self._storage)
        by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
        for number, reason in failed:
            trial = by_number.get(number)
            if trial is None or trial.state != TrialState.RUNNING:
                continue
            study._storage.set_trial_user_attr(trial._trial_id, "error", reason[:2000])
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)

    # -- building, checking, measuring, publishing -----------------------------------------------------
    def _build(self, params: dict[str, Value]) -> Candidate:
        """A unit of the variant whose host globals are the workspace's scratch copies."""
        overrides = self._require_workspace().scratch_globals
        unit = self.variants.build(self._session, params, overrides=overrides, compiler=self._compiler)
        return Candidate(dict(params), unit)

    def _per_call(self, candidate: Candidate) -> float:
        """Nanoseconds of one warm call (a rough figure, for time limits only)."""
        workspace = self._require_workspace()
        workspace.reset()
        workspace.time(candidate.address, 1)
        return workspace.time(candidate.address, 3) / 3

    def _limit(self) -> float:
        """Seconds a trial's candidate code may take: a multiple of what it costs at the incumbent's speed
        (validation, warm-up, calibration and two comparisons of ``rounds`` A/B pairs), with a floor."""
        per_call = self._incumbent_ns * 1e-9
        block = max(self.config.round_seconds, 3 * per_call)
        expected = _EXTRA_CALLS * per_call + 2 * self.config.rounds * 2 * block
        return max(self.config.trial_timeout, self.config.trial_timeout_factor * expected)

    def _running(self, trial: int | None, params: dict[str, Value], limit: float) -> None:
        self._notify(Running(self.number, trial, dict(params), limit))

    def _check(self, candidate: Candidate) -> None:
        workspace = self._require_workspace()
        if self._expected is None:
            raise TuningError("search used before prepare()")
        got = workspace.run(candidate.address)
        check_outputs(got, self._expected, rtol=self.config.rtol, atol=self.config.atol)

    def _measure(self, candidate: Candidate, incumbent: Candidate) -> Comparison:
        if self._measure_fn is not None:
            return self._measure_fn(candidate, incumbent)
        workspace = self._require_workspace()
        return compare(
            workspace.time,
            incumbent.address,
            candidate.address,
            rounds=self.config.rounds,
            round_seconds=self.config.round_seconds,
            margin=self.config.margin,
            reset=workspace.reset,
        )

    def _publish(
        self, candidate: Candidate, value: float, *, kind: str, trial: int | None, comparison: Comparison | None = None
    ) -> None:
        """Make ``candidate`` the incumbent and hand its object code to the host, which links and swaps it."""
        self._reply.publish = Publish(dict(candidate.params), value, candidate.unit.object_code)
        self.live = dict(candidate.params)
        previous = self._incumbent
        self._incumbent, self._incumbent_value = candidate, value
        if comparison is not None:
            self._incumbent_ns = comparison.candidate_ns
        if previous is not None:
            previous.unit.retire()
        self.records.save(self.name, candidate.params, value)
        detail = f"{1 / comparison.ratio:.2f}x faster than the previous variant" if comparison else "stored best"
        ns = comparison.candidate_ns if comparison else None
        self._event(kind, trial=trial, params=dict(candidate.params), value=value, ns_per_call=ns, detail=detail)
        self._log(logging.INFO, f"{self.name}: {kind} {Space.key(candidate.params)} ({value:.3f} of default)")

    def _finish(self, reason: str) -> None:
        self.done, self.reason = True, reason
        if self._incumbent is not None:
            self._incumbent.unit.retire()
            self._incumbent = None
        self._event("done", detail=reason, value=self._incumbent_value)
        self._log(logging.INFO, f"{self.name}: search done ({reason})")

    def close(self) -> None:
        """Stop early (worker exit): free the search's private units."""
        if not self.done:
            self._finish("stopped")

    def _event(self, kind: str, **fields: Any) -> None:
        self._reply.events.append(EventRecord(kind, **fields))

    def _log(self, level: int, message: str) -> None:
        self._reply.logs.append((level, message))

    def _require_workspace(self) -> Workspace:
        if self._workspace is None:
            raise TuningError("search used before prepare()")
        return self._workspace

    def _require_incumbent(self) -> Candidate:
        if self._incumbent is None:
            raise TuningError("search has no incumbent (not prepared, or done)")
        return self._incumbent
