"""The tuner on ``schedule=True`` kernels: schedule knobs are searched in the worker process (which applies
the same schedule before lowering), seeded with the classic schedules, validated and adopted like any
other knob, and a restarted process adopts the stored schedule."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

import autotune
from autotune import f64
from tests.lang import schedule_kernels as sk


def test_a_plain_triple_loop_matmul_is_tuned_to_a_schedule_and_stays_correct() -> None:
    kernel = autotune.tunable(schedule=True, noalias=True, vectorize=[0, 8])(sk.matmul)
    rng = np.random.default_rng(0)
    a, b = rng.random((96, 80)), rng.random((80, 112))
    c = np.zeros((96, 112))
    kernel(a, b, c)
    assert np.allclose(c, a @ b)
    live = kernel.tune(n_trials=8, progress=False)
    trials = [e for e in kernel.history() if e["kind"] == "trial"]
    assert len(trials) >= 4 and all(not e["detail"] for e in trials), trials
    scheduled = [e for e in trials if e["params"]["order0"] != 123 or e["params"]["jam0_i"] > 1]
    assert scheduled, trials  # the seeds (unit-stride order, tiled, jammed) were measured
    # the source order walks B by columns; the seeded unit-stride schedules are several times faster
    assert live["order0"] != 123, (live, trials)
    c[:] = 0
    kernel(a, b, c)
    assert np.allclose(c, a @ b, rtol=1e-12)
    assert "band 0" in kernel.inspect_schedule(**live)


def test_the_seeds_cover_order_tiles_and_jam() -> None:
    kernel = autotune.tunable(schedule=True, noalias=True, vectorize=[0, 1, 8], fastmath=[False, True])(sk.matmul)
    assert kernel.schedule is not None
    seeds = kernel.schedule.seeds(kernel.space.default, kernel.space.names)
    plain = autotune.tunable(schedule=True, noalias=True)(sk.matmul)
    assert plain.schedule is not None  # without those knobs the scalar register block is the plain one
    assert len(plain.schedule.seeds(plain.space.default, plain.space.names)) == len(seeds) - 1
    # j innermost (C[i, j] and B[k, j] unit stride), jammed 2 x 4 and 4 x 4; the register block with the
    # reduction over k innermost (alone and with the loop vectoriser off and fastmath); tiled; the order alone
    assert [s["order0"] for s in seeds] == [132, 132, 123, 123, 132, 132]
    assert [(s["jam0_i"], s["jam0_j"], s["jam0_k"]) for s in seeds] == [
        (2, 1, 4),
        (4, 1, 4),
        (8, 16, 1),
        (8, 16, 1),
        (1, 1, 1),
        (1, 1, 1),
    ]
    assert all(s["hoist0"] is True for s in seeds[:4]) and seeds[3]["fastmath"] is True and seeds[3]["vectorize"] == 1
    assert [(s["tile0_i"], s["tile0_j"], s["tile0_k"]) for s in seeds] == [
        (0, 256, 64),
        (16, 0, 64),  # the 4 x 4 jam keeps the innermost loop whole
        (0, 0, 0),
        (0, 0, 0),
        (0, 256, 64),
        (0, 0, 0),
    ]
    assert all(kernel.space.validate(s) == s for s in seeds)


def scaled(a: f64[:, :], out: f64[:, :]):  # type: ignore[no-untyped-def]
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[j, i] = a[j, i] * 2.0


def test_a_kernel_without_noalias_keeps_its_order_but_still_tunes() -> None:
    kernel = autotune.tunable(schedule=True)(scaled)
    assert "order0" not in kernel.space.names
    a = np.random.default_rng(1).random((40, 40))
    out = np.zeros_like(a)
    kernel(a, out)
    kernel.tune(n_trials=3, progress=False)
    kernel(a, out)
    assert np.array_equal(out, a * 2.0)


def test_knobs_that_change_nothing_are_one_variant_to_the_search() -> None:
    kernel = autotune.tunable(schedule=True, noalias=True)(sk.matmul)
    assert kernel.schedule is not None
    full = kernel.space.validate({"order0": 132, "jam0_j": 4, "jam0_i": 2})
    canonical = kernel.schedule.canonical(full)
    assert canonical["jam0_j"] == 1 and canonical["jam0_i"] == 2  # j is innermost in 1-3-2: no jam
    assert kernel.inspect_schedule(**full) == kernel.inspect_schedule(**canonical)
    seidel = autotune.tunable(schedule=True, noalias=True)(sk.seidel_2d)
    assert seidel.schedule is not None
    illegal = seidel.space.validate({"jam0_i": 2})  # (1, -1) dependence: jamming i would reverse it
    assert seidel.schedule.canonical(illegal)["jam0_i"] == 1


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # group=True, as the tuner uses
def test_the_sampler_sees_a_jam_factor_only_where_the_drawn_order_lets_it_matter() -> None:
    """Conditional parameters: with k innermost (order 123) a jam of k changes nothing, so it is not drawn;
    seeds enqueued as complete parameter sets come through as given."""
    from autotune.search import suggest

    kernel = autotune.tunable(schedule=True, noalias=True)(sk.matmul)
    assert kernel.schedule is not None
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(multivariate=True, group=True, seed=1))
    seed = dict(kernel.space.default, order0=132, jam0_i=2, jam0_k=4, jam0_j=8)
    study.enqueue_trial(seed)
    for number in range(40):
        trial = study.ask()
        drawn = suggest(trial, kernel.space, kernel.schedule)
        study.tell(trial, float(number % 7))
        innermost = "ijk"[int(str(drawn["order0"])[-1]) - 1]
        assert f"jam0_{innermost}" not in trial.params and drawn[f"jam0_{innermost}"] == 1, trial.params
        assert {f"jam0_{v}" for v in "ijk" if v != innermost} <= set(trial.params), trial.params
        assert kernel.space.validate(drawn) == drawn
        if number == 0:
            assert drawn == dict(seed, jam0_j=1)  # j is innermost in 132: its jam is not drawn
