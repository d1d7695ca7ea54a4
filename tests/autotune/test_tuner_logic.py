"""Tuning logic with a fake clock: real kernels, real optuna storage, an injected measuring function."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from autotune import Kernel, Space
from autotune.config import Config
from autotune.measure import Comparison
from autotune.search import Candidate
from autotune.tuner import Tuner

from . import tuning_kernels as tk

ROUNDS = 7


def cost(params: dict[str, Any]) -> float:
    """A made-up cost: vectorize 8 is best, unroll helps a little, fastmath a lot."""
    vector = {1: 10.0, 2: 6.0, 4: 3.5, 8: 2.0}[int(params["vectorize"])]
    return vector * (1.0 - 0.05 * (int(params["unroll"]) > 1)) * (0.5 if params.get("fastmath") else 1.0)


class FakeClock:
    def __init__(self, cost_fn: Any = cost) -> None:
        self.cost = cost_fn
        self.measured: Counter[str] = Counter()

    def __call__(self, candidate: Candidate, incumbent: Candidate) -> Comparison:
        self.measured[Space.key(candidate.params)] += 1
        ratio = self.cost(candidate.params) / self.cost(incumbent.params)
        wins = ROUNDS if ratio <= 0.97 else 0
        return Comparison(ratio, wins, ROUNDS, self.cost(incumbent.params), self.cost(candidate.params))


def make(func: Any, knobs: dict[str, list[Any]], clock: Any = None, **config: Any) -> tuple[Kernel, Tuner, FakeClock]:
    kernel = Kernel(func, Space(knobs), name=f"logic.{func.__name__}.{len(config)}")
    clock = clock or FakeClock()
    tuner = Tuner(config=Config(background=False, **config), measure=clock)
    tuner.attach(kernel)
    return kernel, tuner, clock


def test_picks_the_best_and_enumerates_a_small_space() -> None:
    kernel, tuner, _ = make(tk.dot, {"vectorize": [1, 2, 4, 8], "unroll": [1, 2]})
    x = np.arange(64.0)
    kernel(x, x, 64)
    tuner.tune(kernel, progress=False)
    assert kernel.live == {"unroll": 2, "vectorize": 8}
    (status,) = tuner.status()
    assert status.done and status.reason == "exhausted" and status.trials == 8
    assert kernel(x, x, 64) == float(x @ x)


def test_never_measures_identical_parameters_twice() -> None:
    kernel, tuner, clock = make(tk.dot, {"vectorize": [1, 2, 4, 8], "unroll": [1, 2, 4], "fastmath": [False, True]})
    x = np.ones(32)
    kernel(x, x, 32)
    tuner.tune(kernel, progress=False)
    swaps = {Space.key(e.params or {}) for e in kernel.events.events() if e.kind == "swap"}
    trials = Counter(Space.key(e.params or {}) for e in kernel.events.events() if e.kind in ("trial", "fail"))
    assert max(trials.values()) == 1 and len(trials) == 24
    for key, times in clock.measured.items():
        assert times == (2 if key in swaps else 1)  # a win is confirmed by a second comparison, once
    live = kernel.live
    assert isinstance(live, dict) and live["fastmath"] and live["vectorize"] == 8 and live["unroll"] > 1  # ties


def test_respects_the_margin() -> None:
    def nearly_flat(params: dict[str, Any]) -> float:
        return 1.0 - 0.02 * (int(params["vectorize"]) == 8)  # only 2% better: below the 3% margin

    kernel, tuner, clock = make(tk.dot, {"vectorize": [1, 8]})
    clock.cost = nearly_flat
    x = np.ones(8)
    kernel(x, x, 8)
    tuner.tune(kernel, progress=False)
    assert kernel.live == {"vectorize": 1}
    assert not [e for e in kernel.events.events() if e.kind == "swap"]


def test_respects_trial_and_time_budgets() -> None:
    space = {"vectorize": [1, 2, 4, 8], "unroll": [1, 2, 4, 8], "fastmath": [False, True]}
    kernel, tuner, _ = make(tk.dot, space, max_trials=5)
    x = np.ones(8)
    kernel(x, x, 8)
    tuner.tune(kernel, progress=False)
    (status,) = tuner.status()
    assert status.reason == "budget" and status.trials == 5

    kernel, tuner, _ = make(tk.dot, space, max_seconds=0.01, patience=1000)
    kernel(x, x, 8)
    tuner.tune(kernel, progress=False)
    (status,) = tuner.status()
    assert status.reason == "timeout" and status.trials < 32


def test_failures_become_fail_trials_and_tuning_goes_on() -> None:
    def flaky(params: dict[str, Any]) -> float:
        if int(params["vectorize"]) == 4:
            raise RuntimeError("measurement exploded")
        return cost(params)

    kernel, tuner, clock = make(tk.dot, {"vectorize": [1, 2, 4, 8], "unroll": [1, 2]})
    clock.cost = flaky
    x = np.ones(8)
    kernel(x, x, 8)
    tuner.tune(kernel, progress=False)
    fails = [e for e in kernel.events.events() if e.kind == "fail"]
    assert len(fails) == 2 and all("measurement exploded" in e.detail for e in fails)
    assert kernel.live == {"unroll": 2, "vectorize": 8}


def test_a_wrong_variant_fails_validation_even_if_faster() -> None:
    def faster(c: Candidate, i: Candidate) -> Comparison:
        return Comparison(0.5 if c.params["STEP"] == 2 else 1.0, ROUNDS, ROUNDS, 1.0, 0.5)

    kernel, tuner, _ = make(tk.strided_sum, {"STEP": [1, 2]}, clock=faster)
    x = np.arange(100.0)
    assert kernel(x) == 4950.0
    tuner.tune(kernel, progress=False)
    assert kernel.live == {"STEP": 1}
    (fail,) = [e for e in kernel.events.events() if e.kind == "fail"]
    assert "ValidationError" in fail.detail and fail.params == {"STEP": 2}


def test_tune_before_any_call_is_a_clear_error() -> None:
    kernel, tuner, _ = make(tk.dot, {"vectorize": [1, 8]})
    from autotune import TuningError

    with pytest.raises(TuningError, match="call the kernel once"):
        tuner.tune(kernel, progress=False)


def test_patience_counts_from_the_last_improvement() -> None:
    """A search keeps going while it improves; patience only counts trials since the last new best."""
    big = {"vectorize": [1, 2, 4, 8], "unroll": [1, 2, 4, 8, 16], "fastmath": [False, True], "interleave": [1, 2, 4]}
    kernel, tuner, clock = make(tk.dot, big, patience=5, max_trials=500)

    def improving(params: dict[str, Any]) -> float:
        return cost(params) * (1 + 0.001 * int(params["interleave"]))

    clock.cost = improving
    x = np.ones(8)
    kernel(x, x, 8)
    tuner.tune(kernel, progress=False)
    trials = [e for e in kernel.events.events() if e.kind == "trial"]
    best_at = min(range(len(trials)), key=lambda i: trials[i].value or 0)
    (status,) = tuner.status()
    assert status.reason in ("patience", "exhausted")
    if status.reason == "patience":
        assert len(trials) - 1 - best_at >= 5  # stopped only after five trials without a new best


def test_tuning_copies_keep_the_callers_placement_within_a_page() -> None:
    from autotune.sample import placed_copy

    raw = np.zeros(1000 + 8)
    for shift in range(4):
        x = raw[shift : shift + 1000]
        assert placed_copy(x).ctypes.data % 4096 == x.ctypes.data % 4096
        np.testing.assert_array_equal(placed_copy(x), x)


def test_equally_hot_kernels_are_tuned_in_turn_not_one_after_another() -> None:
    tuner = Tuner(config=Config(background=False, patience=1000), measure=FakeClock())
    kernels = [
        Kernel(tk.dot, Space({"vectorize": [1, 2, 4, 8], "unroll": [1, 2, 4]}), name=f"fair.{i}") for i in range(3)
    ]
    x = np.ones(8)
    for kernel in kernels:
        tuner.attach(kernel)
        kernel(x, x, 8)
    steps = []
    for _ in range(9):
        search = tuner._next()
        assert search is not None
        tuner._step(search)
        steps.append(search.kernel.name)
    assert sorted(set(steps)) == ["fair.0", "fair.1", "fair.2"]
    trials = [s.trials_run for s in tuner._searches.values()]  # pruned duplicates are steps, not trials
    assert max(trials) - min(trials) <= 1


def test_stale_trials_are_failed_by_owner_or_by_age(monkeypatch: pytest.MonkeyPatch) -> None:
    import optuna
    from optuna.trial import TrialState

    from autotune import storage

    study = optuna.create_study()
    dead = study.ask()
    dead.set_user_attr("host", storage.worker_attrs()["host"])
    dead.set_user_attr("pid", 2**22 + 12345)  # above the default pid_max: never a live process
    mine = study.ask()
    for key, value in storage.worker_attrs().items():
        mine.set_user_attr(key, value)
    ownerless = study.ask()  # its process died before naming itself
    remote = study.ask()
    remote.set_user_attr("host", "another-machine")
    assert storage.fail_stale_trials(study) == 1  # only the dead local process's trial, so far
    monkeypatch.setattr(storage, "_OWNERLESS_AFTER", storage.timedelta(0))
    assert storage.fail_stale_trials(study) == 1  # now the ownerless one too
    states = {t.number: t.state for t in study.get_trials()}
    assert states[dead.number] == states[ownerless.number] == TrialState.FAIL
    assert states[mine.number] == states[remote.number] == TrialState.RUNNING


def test_a_trial_failed_only_because_its_process_died_is_measured_again() -> None:
    import optuna

    from autotune.config import current
    from autotune.storage import STALE_ERROR, open_storage, storage_url, study_name

    kernel, tuner, clock = make(tk.dot, {"vectorize": [1, 2, 4, 8], "unroll": [1, 2]})
    x = np.ones(8)
    kernel(x, x, 8)
    storage = open_storage(storage_url(current()))
    study = optuna.create_study(study_name=study_name(kernel, "__default__"), storage=storage)
    died, broke = {"unroll": 2, "vectorize": 8}, {"unroll": 1, "vectorize": 4}
    for params, error in ((died, STALE_ERROR), (broke, "LinkError: unresolved symbol(s)")):
        study.enqueue_trial(params)
        trial = study.ask(kernel.space.distributions())
        trial.set_user_attr("error", error)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    tuner.tune(kernel, progress=False)
    assert Space.key(died) in clock.measured  # the dead process's trial says nothing about its parameters
    assert Space.key(broke) not in clock.measured  # a real failure is for good
    assert kernel.live == {"unroll": 2, "vectorize": 8}


def test_a_trial_another_process_finished_first_is_dropped_and_the_search_goes_on() -> None:
    """SQLite has no row locks, so two processes can pop the same enqueued trial; the slower one must not
    give up its search when it finds the trial already finished."""
    import optuna

    from autotune.config import current
    from autotune.storage import open_storage, storage_url, study_name

    finished: list[int] = []

    class Racing(FakeClock):
        def __call__(self, candidate: Candidate, incumbent: Candidate) -> Comparison:
            if not finished:  # the other process finishes every running trial before this one can
                other = optuna.load_study(study_name=study_name(kernel, "__default__"), storage=storage)
                for trial in other.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
                    other.tell(trial.number, 1.0)
                    finished.append(trial.number)
            return super().__call__(candidate, incumbent)

    storage = open_storage(storage_url(current()))
    kernel, tuner, _ = make(tk.dot, {"vectorize": [1, 2, 4, 8], "unroll": [1, 2]}, clock=Racing())
    x = np.ones(8)
    kernel(x, x, 8)
    tuner.tune(kernel, progress=False)
    (status,) = tuner.status()
    assert finished and status.done and status.reason == "exhausted"
    assert kernel.live == {"unroll": 2, "vectorize": 8}
