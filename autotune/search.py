"""``Search``: the tuning of one (kernel, key) — an optuna study driven by ask/tell, one trial per step.

Runs in the tuning worker process (see :mod:`autotune.server`), never in the application. A trial: ask ->
build the variant (object cache) -> validate its outputs against the reference (:mod:`autotune.reference`)
on guarded copies of every validation input (:mod:`autotune.validation`) -> measure it against the
incumbent in interleaved rounds -> tell -> publish only a clear win
(median ratio below ``1 - margin`` and a majority of rounds won): the reply carries the winner's object
code, which the host links and swaps in. Any failure becomes a FAIL trial with its reason; identical
parameters are never built or measured twice, across processes too (parameters already in the study
count as seen, failed ones included). Before candidate code runs, the search says so with a
:class:`~autotune.messages.Running` notice and a time limit, so a crash or hang is blamed on the trial.
Values are times relative to the default variant.

The live variant is validated too: when the search opens (a stored best adopted at the first call) and
on calls the host captures later (:meth:`Search.revalidate`). One that fails is rolled back to the
default and revoked: recorded as a FAIL trial marked ``revoked``, so it is never adopted again.
"""

from __future__ import annotations

import logging
import random
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dylibs import CompileOptions, Session, Unit

from .abi import KERNEL_EXCEPTIONS
from .cases import Case
from .errors import TuningError, ValidationError
from .measure import Comparison, compare
from .messages import EventRecord, NeedIR, Notice, Publish, Running, StepReply
from .records import BestRecords
from .reference import Reference
from .schedule import Schedule
from .space import Space, Value
from .spec import KernelSpec
from .storage import STALE_ERROR, open_study, worker_attrs
from .validation import Validation
from .workspace import Workspace

__all__ = ["Candidate", "Measure", "Notify", "Search", "suggest"]

_DUPLICATES_BEFORE_SWEEP = 8
#: spaces up to this size are listed whole for the sweep; larger ones (schedule knobs) are sampled
_SWEEP_GRID_LIMIT = 20_000


def suggest(trial: Any, space: Space, schedule: Schedule | None) -> dict[str, Value]:
    """Draw an optuna trial's parameters, conditionally: a knob of ``schedule.conditional()`` (an
    unroll-and-jam factor) is drawn only when the knobs drawn before it let it change something;
    otherwise it keeps its default and the sampler never sees it. Every other knob is always drawn. The
    drawn parameters, completed with the defaults."""
    later = set(schedule.conditional()) & set(space.names) if schedule is not None else set()
    for name in space.names:
        if name not in later:
            trial.suggest_categorical(name, list(space.values(name)))
    drawn = dict(space.default, **trial.params)
    for name in (n for n in space.names if n in later):
        assert schedule is not None
        if schedule.matters(name, drawn):
            drawn[name] = trial.suggest_categorical(name, list(space.values(name)))
    return drawn


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


class Search:
    """Tunes one binding of one kernel. Not thread-safe: the tuner runs one step at a time per search."""

    def __init__(
        self,
        number: int,
        spec: KernelSpec,
        samples: list[list[Any]],
        storage: Any,
        session: Session,
        *,
        elapsed: float = 0.0,
        notify: Notify,
        measure: Measure | None = None,
        records: BestRecords | None = None,
        compiler: Callable[[str, CompileOptions], bytes] | None = None,
        extents: bool = True,
        time_left: float | None = None,
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
        self._samples = samples  # captured calls; the first is the one trials are timed on
        self._extents = extents  # False once the reference crashed on inputs cut to other extents
        self.time_left = time_left  # seconds until a caller's tune(timeout=) ends (None: no deadline)
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
        self._validation: Validation | None = None
        self._reference: Reference | None = None

    # -- setup -----------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Open the study, build the workspace and reference outputs, adopt a better stored result."""
        import optuna
        from optuna.trial import TrialState

        self._started = time.monotonic() - self._elapsed
        # group=True: the schedule knobs make the space conditional (see suggest); TPE then models each
        # set of parameters that occur together on its own instead of falling back to independent sampling
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(multivariate=True, group=True, n_startup_trials=8)
        self._study = open_study(self.name, self._storage, sampler)
        finished = self._study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
        # A trial failed only because its process died (killed with the application, say) says nothing
        # about its parameters: those are measured again. Every other failure is for good.
        self._seen = {
            self._key(self._complete(t.params))
            for t in finished
            if self._valid(t.params) and t.user_attrs.get("error") != STALE_ERROR
        }
        if not finished:
            for seed in self._seeds():
                self._study.enqueue_trial(seed, skip_if_exists=True)
        reference = self._build(self._reference_params())
        try:
            self._validation = self._ensure_reference().validation(
                reference.address, self._samples, extents=self._extents
            )
        finally:
            reference.unit.retire()
        self._incumbent = self._build(dict(self.live))
        self._check_live()
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

    def _key(self, params: dict[str, Value]) -> str:
        """What identifies a variant: the parameters, with schedule knobs that change nothing canonical."""
        schedule = self.spec.schedule
        return Space.key(schedule.canonical(params) if schedule is not None else params)

    def _seeds(self) -> list[dict[str, Value]]:
        """The default first, then the classic schedules (``schedule=True``), then the usual winners on
        wide-vector CPUs (a prior, like Triton configs)."""
        default = self.space.default
        seeds = [default]
        widths = [int(v) for v in self.space.values("vectorize")] if "vectorize" in self.space.names else []
        if self.spec.schedule is not None:  # each also with 8 lanes: one AVX-512 register (the sweep's best)
            for schedule in self.spec.schedule.seeds(default, self.space.names):
                seeds.append(self._allowed(schedule))
                if widths and schedule.get("vectorize") == default.get("vectorize"):
                    seeds.append(dict(schedule, vectorize=8 if 8 in widths else max(widths)))
        if widths:
            wide = dict(default, vectorize=max(widths))
            seeds.append(wide)
            if "fastmath" in self.space.names and True in self.space.values("fastmath"):
                fast = dict(wide, fastmath=True)
                if "interleave" in self.space.names:
                    small = [int(v) for v in self.space.values("interleave") if 2 <= int(v) <= 4]
                    if small:
                        fast["interleave"] = max(small)
                seeds.append(fast)
        if "parallel" in self.space.names:  # prange loops: every thread the space allows, on each seed so far
            widest = max(int(v) for v in self.space.values("parallel"))
            seeds += [dict(seed, parallel=widest) for seed in seeds]
        unique: dict[str, dict[str, Value]] = {Space.key(s): s for s in seeds if self._valid(s)}
        return list(unique.values())

    def _allowed(self, params: dict[str, Value]) -> dict[str, Value]:
        """``params`` without the values the space does not offer (the default's value in their place)."""
        default = self.space.default
        return {
            name: value if value in self.space.values(name) else default[name]
            for name, value in params.items()
            if name in self.space.names
        }

    def _reference_params(self) -> dict[str, Value]:
        return dict(self._ensure_reference().params)

    def _loose_limit(self) -> float:
        """The time limit while preparing (no incumbent speed is known yet)."""
        return self.config.trial_timeout * 10

    def _ensure_workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = Workspace(self.arguments, self._samples[0], self.spec.facts.globals)
        return self._workspace

    def _ensure_reference(self) -> Reference:
        if self._reference is None:
            self._reference = Reference(
                self.number,
                self.spec,
                self.variants,
                self._ensure_workspace(),
                notify=self._notify,
                running=lambda params, limit, phase: self._running(None, params, limit, phase),
                log=self._log,
                event=self._event,
                budget=self._python_budget,
                limit=self._loose_limit(),
            )
        return self._reference

    def _python_budget(self) -> float:
        """CPU seconds the Python reference may take: ``reference_seconds``, less near a tune() deadline."""
        budget = self.config.reference_seconds
        if self.time_left is not None:
            budget = min(budget, max(self.time_left / 4, 0.01))
        return budget

    def _ir_for(self, params: Any) -> str:
        """The expert route's IR for ``params``, generated by the host."""
        answer = self._notify(NeedIR(dict(params)))
        if isinstance(answer, BaseException):
            raise answer
        if not isinstance(answer, str):
            raise TuningError(f"the host sent no IR for {Space.key(params)}")
        return answer

    # -- the live variant: checked at start and on fresh inputs, rolled back on a mismatch ---------------
    def _check_live(self) -> None:
        """Validate the live variant (a stored best adopted at the first call, say) like a candidate; roll
        back to the default if it fails."""
        incumbent = self._require_incumbent()
        if incumbent.params == self._reference_params():
            return
        self._running(None, incumbent.params, self._loose_limit(), phase="live")
        try:
            self._check(incumbent)
        except ValidationError as exc:
            self._rollback(str(exc))

    def revalidate(self, samples: list[list[Any]]) -> StepReply:
        """Check the live variant against the reference on freshly captured calls; keep them as cases for
        later candidates. A mismatch rolls the slot back to the default and revokes the variant."""
        self._reply = StepReply()
        try:
            self._revalidate(samples)
        except Exception as exc:  # a broken check must not retire the search; say so and go on
            self._log(logging.ERROR, f"{self.name}: re-validation failed: {type(exc).__name__}: {exc}")
        reply, self._reply = self._reply, StepReply()
        reply.done, reply.reason = self.done, self.reason
        return reply

    def _revalidate(self, samples: list[list[Any]]) -> None:
        workspace = self._ensure_workspace()
        reference = self._build(self._reference_params())
        live_params = self.space.validate(self.live)
        live = self._incumbent if self._incumbent is not None else self._build(live_params)
        failure = ""
        fresh = Validation(workspace, self.config.rtol, self.config.atol)
        try:
            self._running(None, live_params, self._loose_limit(), phase="live")
            for values in samples:
                case = Case("a freshly captured call", values)
                try:
                    expected = workspace.run(reference.address, values)
                except KERNEL_EXCEPTIONS:  # the kernel raises on this call (its own raise/assert): no case
                    continue
                fresh.add(case, expected)
                if self._validation is not None:
                    self._validation.add(case, expected)
            if live_params != self._reference_params():
                try:
                    fresh.check(live.address)
                except ValidationError as exc:
                    failure = str(exc)
        finally:
            fresh.close()
            reference.unit.retire()
            if live is not self._incumbent:
                live.unit.retire()
        if live_params != self._reference_params():
            self._event("check", params=live_params, detail=failure or f"{len(samples)} fresh call(s) agree")
        if failure:
            self._rollback(failure)

    def _rollback(self, reason: str) -> None:
        """The live variant is wrong: publish the default, revoke the variant for good, say so loudly."""
        bad = self.space.validate(self.live)
        self._revoke(bad, reason)
        default = self._build(self.space.default)
        self._log(
            logging.WARNING,
            f"{self.name}: live variant {Space.key(bad)} failed validation ({reason}); rolled back to the default",
        )
        self._publish(default, 1.0, kind="rollback", trial=None, detail=f"{Space.key(bad)} failed: {reason}")

    def _revoke(self, params: dict[str, Value], reason: str) -> None:
        """Record ``params`` as a FAIL trial marked revoked: never adopted, never tried again."""
        from optuna.trial import TrialState, create_trial

        study = self._study if self._study is not None else open_study(self.name, self._storage, None)
        study.add_trial(
            create_trial(
                state=TrialState.FAIL,
                params=params,
                distributions=self.space.distributions(),
                user_attrs={"error": f"revoked: {reason}"[:2000], "revoked": True},
            )
        )
        self._seen.add(self._key(params))

    def record_revoked(self, revoked: tuple[tuple[dict[str, Value], str], ...]) -> None:
        """Revoke variants the host rolled back because the worker died checking them."""
        for params, reason in revoked:
            if self._valid(params):
                self._revoke(self._complete(params), reason)

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
        revoked = {
            Space.key(self._complete(t.params))
            for t in self._study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
            if t.user_attrs.get("revoked") and self._valid(t.params)
        }
        published = [
            t
            for t in self._study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.user_attrs.get("published")
            and t.value is not None
            and self._valid(t.params)
            and Space.key(self._complete(t.params)) not in revoked
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
        from optuna.exceptions import UpdateFinishedTrialError

        trial = self._study.ask()
        try:
            suggest(trial, self.space, self.spec.schedule)
            return self._run(trial)
        except UpdateFinishedTrialError:
            # SQLite has no row locks: a process sharing the study can pop the same enqueued trial and finish
            # it first. Its result is in the study; this process's copy of the trial is simply dropped.
            return True

    def _run(self, trial: Any) -> bool:
        """Build, check, measure and record one trial; publish it if it clearly wins."""
        for key, value in worker_attrs().items():
            trial.set_user_attr(key, value)
        params = self._complete(trial.params)
        key = self._key(params)
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
        try:
            if won:
                trial.set_user_attr("published", True)
            self._tell(trial, value, comparison)
        except BaseException:
            candidate.unit.retire()
            raise
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
            if self.space.size <= _SWEEP_GRID_LIMIT:
                unseen = [p for p in self.space.grid() if self._key(p) not in self._seen]
            else:  # too many variants to list (schedule knobs multiply): a random sample of them
                drawn: dict[str, dict[str, Value]] = {}
                for _ in range(_SWEEP_GRID_LIMIT):
                    params = self.space.validate({n: random.choice(self.space.values(n)) for n in self.space.names})
                    drawn.setdefault(self._key(params), params)
                unseen = [p for key, p in drawn.items() if key not in self._seen]
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
            # the value's spread: the per-round ratios' quartiles, on the value's scale (time / default's)
            scale = value / comparison.ratio if comparison.ratio else 0.0
            trial.set_user_attr("value_quartiles", [q * scale for q in comparison.quartiles])
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

    def _running(self, trial: int | None, params: dict[str, Value], limit: float, phase: str = "") -> None:
        self._notify(Running(self.number, trial, dict(params), limit, phase))

    def _check(self, candidate: Candidate) -> None:
        if self._validation is None:
            raise TuningError("search used before prepare()")
        self._validation.check(candidate.address)

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
        self,
        candidate: Candidate,
        value: float,
        *,
        kind: str,
        trial: int | None,
        comparison: Comparison | None = None,
        detail: str = "",
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
        if not detail:
            detail = f"{1 / comparison.ratio:.2f}x faster than the previous variant" if comparison else "stored best"
        ns = comparison.candidate_ns if comparison else None
        self._event(kind, trial=trial, params=dict(candidate.params), value=value, ns_per_call=ns, detail=detail)
        self._log(logging.INFO, f"{self.name}: {kind} {Space.key(candidate.params)} ({value:.3f} of default)")

    def _finish(self, reason: str) -> None:
        self.done, self.reason = True, reason
        if self._validation is not None:
            self._validation.close()
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
