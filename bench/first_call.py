"""First call of a kernel in a fresh process: autotune cold and warm, against numba's first call.

Why: a tunable kernel runs native code from its first call. That call pays for lowering, one O3 compile
and the JIT-compiled entry point when the cache is empty (cold), and only a records-file read, an object
cache hit and a link when an earlier run already tuned the kernel (warm). numba's first call of an
``@njit`` function includes its compile, so it is the natural yardstick.

Every sample is a fresh ``python -m bench.first_call child MODE`` process (the environment's defaults, so
the background tuner is on as it is for any application) calling ``dot`` from examples/kernels.py on two
10,000-element arrays. Modes, run interleaved in rounds of one sample each, ``SAMPLES`` rounds:

- ``numba``: ``numba.njit`` of the same function body (its annotations stripped), no disk cache.
- ``cold``: autotune with an empty ``AUTOTUNE_CACHE_DIR``.
- ``cold, tuner off``: the same with ``AUTOTUNE_BACKGROUND=0`` (what starting the tuner costs the call).
- ``warm``: a copy, per sample, of a cache directory where a tuning process already ran ``TUNE_TRIALS``
  trials and recorded a best (records file, object cache, optuna study). The first call must adopt that
  best: the child reports the live variant and its ``adopt`` event, and the run fails if it did not.
- ``warm, 1 BLAS thread``: the same with ``OPENBLAS_NUM_THREADS=1``. Every other mode runs with the
  environment as it is, so numpy's OpenBLAS starts its thread pool at import (one extra thread on this
  2-core machine). A process with more than one thread pays more for registering ``membarrier(2)``
  (which the first slot does), so this mode shows what that costs.

Each child times, with ``time.perf_counter`` (CLOCK_MONOTONIC, so comparable across processes):
interpreter start (from the parent's spawn to the child's first line, including the bench module's
stdlib imports), ``import numpy``, ``import autotune`` or ``import numba`` (autotune also loads
examples/kernels.py: counted with its import), the decoration, the first call, and the time from the
first call's return to the process's end as the parent sees it (exit: the tuner stopping and its worker
shutting down). The figure compared is decoration + first call; the table also shows everything from
the spawn to the first result. Medians over the samples, with the range (min-max).

Targets: cold decoration + first call faster than numba's njit + first call; warm under 10 ms.

Run: python -m bench.first_call [samples]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._report import report

ROOT = Path(__file__).resolve().parent.parent
KERNELS = ROOT / "examples" / "kernels.py"
SAMPLES = 9
SIZE = 10_000
TUNE_TRIALS = 24
#: The tuning space (48 variants); the warm process must find the tuning process's best in it.
SPACE: dict[str, list[Any]] = {
    "vectorize": [0, 4, 8, 16],
    "interleave": [0, 2, 4],
    "unroll": [0, 4],
    "fastmath": [False, True],
}
NAME = "bench.first_call.dot"
#: mode -> (what the child runs, extra environment)
MODES: dict[str, tuple[str, dict[str, str]]] = {
    "numba": ("numba", {}),
    "cold": ("cold", {}),
    "cold, tuner off": ("cold", {"AUTOTUNE_BACKGROUND": "0"}),
    "warm": ("warm", {}),
    "warm, 1 BLAS thread": ("warm", {"OPENBLAS_NUM_THREADS": "1"}),
}
PHASES = ("start", "import numpy", "import", "decorate", "first call", "exit")


# ---- children ---------------------------------------------------------------------------------------
def _load_kernels() -> Any:
    """examples/kernels.py as a module (the demo's loader, inlined to time it with the imports)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_first_call_kernels", KERNELS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _plain_dot() -> Any:
    """``dot`` from examples/kernels.py without its annotations or decorator, for numba (no autotune import)."""
    import ast

    tree = ast.parse(KERNELS.read_text())
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "dot")
    node.decorator_list = []
    node.returns = None
    for arg in node.args.args:
        arg.annotation = None
    namespace: dict[str, Any] = {}
    exec(compile(ast.Module(body=[node], type_ignores=[]), str(KERNELS), "exec"), namespace)
    return namespace["dot"]


def child(mode: str) -> None:
    """Time the imports, the decoration and the first call; print one JSON line of perf_counter stamps."""
    stamps = {"first line": time.perf_counter()}
    import numpy as np

    stamps["numpy"] = time.perf_counter()
    if mode == "numba":
        import numba

        function = _plain_dot()
        stamps["import"] = time.perf_counter()
        kernel = numba.njit(function)
    else:
        import autotune

        function = _load_kernels().dot
        stamps["import"] = time.perf_counter()
        kernel = autotune.tunable(name=NAME, **SPACE)(function)
    stamps["decorate"] = time.perf_counter()
    rng = np.random.default_rng(5)  # made before the clock starts for the call: not part of it
    a, b = rng.uniform(-1, 1, SIZE), rng.uniform(-1, 1, SIZE)
    before_call = time.perf_counter()
    result = kernel(a, b)
    stamps["first call"] = time.perf_counter()
    stamps["inputs"] = before_call - stamps["decorate"]
    info: dict[str, Any] = {"ok": bool(abs(result - float(np.dot(a, b))) <= 1e-9 * SIZE)}
    if mode != "numba":
        info["live"] = kernel.live
        info["adopted"] = [e.detail for e in kernel.events.events() if e.kind == "adopt"]
    print(json.dumps({"stamps": stamps, **info}), flush=True)


def tune_child() -> None:
    """Tune NAME in this cache directory (the warm samples' starting point); print the recorded best."""
    import numpy as np

    import autotune
    from autotune.records import BestRecords
    from autotune.storage import study_name

    autotune.configure(max_trials=TUNE_TRIALS, patience=TUNE_TRIALS)
    kernel = autotune.tunable(name=NAME, **SPACE)(_load_kernels().dot)
    rng = np.random.default_rng(5)
    kernel(rng.uniform(-1, 1, SIZE), rng.uniform(-1, 1, SIZE))
    kernel.tune(n_trials=TUNE_TRIALS, progress=False)
    record = BestRecords().load(study_name(kernel, kernel.bindings[0].key))
    print(json.dumps({"record": record, "live": kernel.live}), flush=True)


# ---- the parent -------------------------------------------------------------------------------------
def _env(cache: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("AUTOTUNE_BACKGROUND", "AUTOTUNE_STORAGE"):
        env.pop(name, None)
    env.update(AUTOTUNE_CACHE_DIR=cache, **extra)
    return env


def _spawn(args: list[str], env: dict[str, str]) -> tuple[dict[str, Any], float, float]:
    """Run a child; (its JSON line, the spawn stamp, the end stamp)."""
    spawned = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.first_call", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    ended = time.perf_counter()
    if proc.returncode:
        sys.stderr.write(proc.stderr[-3000:])
        raise RuntimeError(f"bench.first_call {' '.join(args)} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), spawned, ended


def _sample(mode: str, warm_source: Path) -> dict[str, Any]:
    kind, extra = MODES[mode]
    with tempfile.TemporaryDirectory(prefix="bench-first-call-") as tmp:
        cache = Path(tmp) / "cache"
        if kind == "warm":
            shutil.copytree(warm_source, cache)
        else:
            cache.mkdir()
        out, spawned, ended = _spawn(["child", kind], _env(str(cache), **extra))
    if not out["ok"]:
        raise RuntimeError(f"{mode}: wrong result")
    if kind == "warm" and not out["adopted"]:
        raise RuntimeError(f"warm: the first call did not adopt the stored best (live {out['live']})")
    s = out["stamps"]
    ms = {
        "start": s["first line"] - spawned,
        "import numpy": s["numpy"] - s["first line"],
        "import": s["import"] - s["numpy"],
        "decorate": s["decorate"] - s["import"],
        "first call": s["first call"] - s["decorate"] - s["inputs"],
        "exit": ended - s["first call"],
    }
    ms = {k: v * 1e3 for k, v in ms.items()}
    ms["decorate + first call"] = ms["decorate"] + ms["first call"]
    ms["spawn to first result"] = sum(ms[k] for k in PHASES if k != "exit")
    return {"ms": ms, "live": out.get("live")}


def _spread(values: list[float]) -> str:
    return f"{min(values):.3g}-{max(values):.3g}"


def main(samples: int = SAMPLES) -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-first-call-warm-") as warm:
        tuned, _, _ = _spawn(["tune"], _env(warm, AUTOTUNE_BACKGROUND="0"))
        if tuned["record"] is None:
            raise RuntimeError(f"the tuning process recorded no best (live {tuned['live']}); warm needs one")
        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
        for _ in range(samples):
            for mode in MODES:
                runs[mode].append(_sample(mode, Path(warm)))
    columns = [*PHASES[:-1], "decorate + first call", "spawn to first result", "exit"]
    figures = {mode: {c: [r["ms"][c] for r in runs[mode]] for c in columns} for mode in MODES}
    medians = {mode: {c: statistics.median(v) for c, v in figures[mode].items()} for mode in MODES}
    numba_first = medians["numba"]["decorate + first call"]
    rows = []
    for mode in MODES:
        m = medians[mode]
        first = figures[mode]["decorate + first call"]
        rows.append(
            [
                mode,
                *(m[c] for c in columns[:5]),
                m["decorate + first call"],
                _spread(first),
                m["decorate + first call"] / numba_first,
                m["spawn to first result"],
                m["exit"],
            ]
        )
    cold = medians["cold"]["decorate + first call"]
    warm_ms = medians["warm"]["decorate + first call"]
    report(
        "first_call",
        [
            "mode",
            "start ms",
            "import numpy ms",
            "import ms",
            "decorate ms",
            "first call ms",
            "decorate + first call ms",
            "range",
            "ratio to numba",
            "spawn to result ms",
            "exit ms",
        ],
        rows,
        {
            "samples": samples,
            "size": SIZE,
            "space": SPACE,
            "warm_record": tuned["record"],
            "warm_live": [r["live"] for r in runs["warm"]],
            "targets": "cold decorate + first call < numba's; warm < 10 ms",
            "met": {"cold faster than numba": cold < numba_first, "warm under 10 ms": warm_ms < 10},
            "raw_ms": figures,
            "total_seconds": round(time.perf_counter() - started, 1),
        },
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2])
    elif sys.argv[1:2] == ["tune"]:
        tune_child()
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES)
