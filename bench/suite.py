"""Suite: autotune (default, grid best, tuner's pick) vs numba vs numpy vs C, per call, per suite kernel.

Why: the tuner is only worth having if its pick beats what users would otherwise write (numba, numpy,
plain C) on the kernels of ``examples/kernels.py``, at sizes where one call takes ~20 us - 0.5 ms.

Contenders, each output checked against the numpy reference with the suite's tolerance:

- autotune *default*, *grid best* and *tuned*, timed in autotune's native loop (no Python per call).
  Grid best is the fastest valid variant of a reduced grid: vectorize 0,1,4,8,16 x interleave 0,2,4 x
  fastmath off/on (x BLOCK 16,32,64 for matmul), unroll and prefer_vector_width left at 0; the full
  spaces have 720 (matmul 2160) variants. Tuned is what ``k.tune()`` picks over the full space in at
  most ``TUNER_TRIALS`` trials (the search's own stop rules may end it sooner).
- autotune tuned through its Python call path, ``k(*args)`` in a Python loop.
- numba ``@njit`` of the same function, fastmath off and on (histogram: the host ``Global`` becomes an
  array argument; matmul: ``BLOCK`` bound by a closure), and the numpy reference: Python loops, so their
  per-call overhead (~0.2-1 us) is included, as it is for ``k(*args)``.
- bench/_c/kernels.c compiled by ``gcc -O3 -march=native`` (and with ``-ffast-math``), timed by a C loop.

Contenders run interleaved in rounds; figures are medians over rounds; ratios are against numba
(fastmath=False) in the same run. numpy's BLAS is held to one thread, as every other contender is
single-threaded. The work runs in a child process with a fresh ``AUTOTUNE_CACHE_DIR`` and no background
tuner. The helpers here (isolation, native timing, validation) are shared with bench/tuning.py.

Run: python -m bench.suite
"""

from __future__ import annotations

import ctypes
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ._report import report

ROOT = Path(__file__).resolve().parent.parent
C_SOURCE = Path(__file__).resolve().parent / "_c" / "kernels.c"
CHILD = "BENCH_CHILD"

#: Problem sizes (make_inputs' ``size``): one default-variant call takes 25-330 us on the development machine.
SIZES = {"dot": 50_000, "saxpy": 200_000, "stencil5": 384, "matmul": 128, "softmax": 256, "histogram": 200_000}
#: The reduced grid (matmul adds its BLOCK values); unroll and prefer_vector_width stay at their default 0.
GRID: dict[str, list[Any]] = {"vectorize": [0, 1, 4, 8, 16], "interleave": [0, 2, 4], "fastmath": [False, True]}
TUNER_TRIALS = 60
FINALISTS = 5  # grid leaders timed again before the grid best is chosen
ROUNDS = 7
ROUND_SECONDS = 0.02

Array = np.ndarray[Any, Any]
#: ``block(reps) -> total ns`` for ``reps`` calls of one contender.
Block = Callable[[int], float]


# ---- process isolation ------------------------------------------------------------------------------
def child_env(cache_dir: str, **extra: str) -> dict[str, str]:
    """Environment of a benchmark child: its own cache dir, no background tuner, single-threaded BLAS."""
    env = dict(os.environ)
    env.update(
        AUTOTUNE_CACHE_DIR=cache_dir,
        AUTOTUNE_BACKGROUND="0",
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    env.update(extra)
    return env


def run_child(args: Sequence[str], env: Mapping[str, str], *, capture: bool = False) -> str:
    """Run ``python -m <args>`` from the repository root; returns its stdout when ``capture``.

    LLVM prints optimisation remarks (loops it could not vectorise as forced) on stderr; they are dropped,
    everything else on stderr is passed on.
    """
    proc = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    noise = ("remark: <unknown>", "warning: <unknown>")
    for line in proc.stderr.splitlines():
        if line.strip() and not line.startswith(noise):
            print(line, file=sys.stderr)
    if proc.returncode:
        raise RuntimeError(f"python -m {' '.join(args)} failed with exit code {proc.returncode}")
    return proc.stdout or ""


def isolated(module: str, args: Sequence[str] = ()) -> bool:
    """In the parent: run ``python -m bench.<module> *args`` in a fresh child and return True; in the child False."""
    if os.environ.get(CHILD) == module:
        return False
    with tempfile.TemporaryDirectory(prefix=f"bench-{module}-") as cache:
        run_child([f"bench.{module}", *args], child_env(cache, **{CHILD: module}))
    return True


# ---- kernels, inputs, validation --------------------------------------------------------------------
def load_suite() -> ModuleType:
    """``examples/kernels.py`` (the demo's loader)."""
    from autotune.demo import load_suite as load

    return load()


def copies(inputs: Sequence[Any]) -> tuple[Any, ...]:
    """Fresh copies of the arrays among ``inputs`` (scalars as they are)."""
    return tuple(v.copy() if isinstance(v, np.ndarray) else v for v in inputs)


def valid(
    entry: Any,
    pristine: tuple[Any, ...],
    expected: Any,
    run: Callable[[tuple[Any, ...]], Any],
    output: Callable[[tuple[Any, ...], Any], Any] | None = None,
    *,
    rtol: float | None = None,
    atol: float | None = None,
) -> bool:
    """Does ``run(copies of pristine)`` produce the reference output (suite tolerance unless given)?"""
    fresh = copies(pristine)
    entry.setup()
    result = run(fresh)
    got = (output or entry.output)(fresh, result)
    return bool(
        np.allclose(got, expected, rtol=entry.rtol if rtol is None else rtol, atol=entry.atol if atol is None else atol)
    )


def variant_runner(kernel: Any, address: int) -> Callable[[tuple[Any, ...]], Any]:
    """Call the variant at ``address`` once (through ctypes, with the kernel's argument checks)."""
    arguments = kernel.arguments
    return lambda fresh: arguments.call(address, arguments.check(arguments.bind(fresh, {})))


def describe(params: Mapping[str, Any], default: Mapping[str, Any]) -> str:
    """Short text for the knobs that differ from the default (``vw=8 il=4 fm=1``)."""
    short = {"vectorize": "vw", "interleave": "il", "unroll": "un", "fastmath": "fm", "prefer_vector_width": "pvw"}
    changed = sorted((k, v) for k, v in params.items() if default.get(k) != v)
    text = " ".join(f"{short.get(k, k)}={int(v) if isinstance(v, bool) else v}" for k, v in changed)
    return text or "default"


def grid(space: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of ``space``'s values."""
    names = sorted(space)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(space[n] for n in names))]


# ---- timing -----------------------------------------------------------------------------------------
class NativeRunner:
    """Times variants of one kernel on fixed inputs in autotune's native loop (GIL released, no Python)."""

    def __init__(self, kernel: Any, inputs: Sequence[Any]) -> None:
        from autotune.measure import Timer, native_types, pack_arguments

        arguments = kernel.arguments
        types = native_types(arguments.params, arguments.ret)
        self.timer = Timer(types)
        self.checked = arguments.check(arguments.bind(tuple(inputs), {}))  # keeps the arrays alive
        self._out = np.zeros(1)
        values = arguments.native(self.checked) + ([self._out.ctypes.data] if arguments.ret is not None else [])
        self.argv = pack_arguments(types, values)

    def block(self, address: int) -> Block:
        return lambda reps: self.timer(address, self.argv, reps)


def python_block(fn: Callable[..., Any], args: Sequence[Any]) -> Block:
    """``reps`` calls of ``fn(*args)`` from a Python loop (per-call overhead included)."""

    def run(reps: int) -> float:
        start = time.perf_counter_ns()
        for _ in range(reps):
            fn(*args)
        return float(time.perf_counter_ns() - start)

    return run


def calibrate(block: Block, seconds: float) -> int:
    """Calls per timed block so that one block takes about ``seconds`` (after a warm-up call)."""
    block(1)
    once = max(block(2) / 2, 1.0)
    return max(1, int(seconds * 1e9 / once))


def fastest_ns(block: Block, seconds: float = 0.004, repeats: int = 3) -> float:
    """Per-call ns: the fastest of ``repeats`` blocks (interruptions only ever add time)."""
    reps = calibrate(block, seconds)
    return min(block(reps) for _ in range(repeats)) / reps


def interleaved_samples(
    blocks: Mapping[str, Block], rounds: int = ROUNDS, seconds: float = ROUND_SECONDS
) -> dict[str, list[float]]:
    """Per-call ns of each contender in each of ``rounds``; the order rotates every round."""
    reps = {name: calibrate(block, seconds) for name, block in blocks.items()}
    samples: dict[str, list[float]] = {name: [] for name in blocks}
    names = list(blocks)
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(blocks[name](reps[name]) / reps[name])
    return samples


def interleaved(blocks: Mapping[str, Block], rounds: int = ROUNDS, seconds: float = ROUND_SECONDS) -> dict[str, float]:
    """Median per-call ns of each contender over ``rounds``; the order rotates every round."""
    samples = interleaved_samples(blocks, rounds, seconds)
    return {name: statistics.median(values) for name, values in samples.items()}


# ---- C (gcc) ----------------------------------------------------------------------------------------
def build_c(directory: Path, *, fast: bool) -> ctypes.CDLL:
    """bench/_c/kernels.c as a shared library: gcc -O3 -march=native [-ffast-math]."""
    target = directory / f"kernels{'_fast' if fast else ''}.so"
    flags = ["-O3", "-march=native", *(["-ffast-math"] if fast else []), "-shared", "-fPIC"]
    subprocess.run(["gcc", *flags, "-o", str(target), str(C_SOURCE), "-lm"], check=True)
    return ctypes.CDLL(str(target))


def c_arguments(name: str, inputs: Sequence[Any], hist: Array) -> list[Any]:
    """The C kernel's arguments for the suite inputs (arrays as pointers, then extents)."""
    if name == "dot":
        a, b = inputs
        values: list[Any] = [a, b, a.size]
    elif name == "saxpy":
        alpha, x, y = inputs
        values = [alpha, x, y, x.size]
    elif name in ("stencil5", "softmax"):
        source, out = inputs
        values = [source, out, *source.shape]
    elif name == "matmul":
        a, b, c = inputs
        values = [a, b, c, a.shape[0], a.shape[1], b.shape[1]]
    elif name == "histogram":
        x, lo, hi = inputs
        values = [x, x.size, lo, hi, hist]
    else:
        raise KeyError(f"no C version of {name}")
    converted: list[Any] = []
    for value in values:
        if isinstance(value, np.ndarray):
            converted.append(ctypes.c_void_p(value.ctypes.data))
        elif isinstance(value, float):
            converted.append(ctypes.c_double(value))
        else:
            converted.append(ctypes.c_long(int(value)))
    return converted


def c_contender(lib: ctypes.CDLL, name: str, inputs: Sequence[Any]) -> tuple[Block, Callable[..., Any]]:
    """(timing block through the C loop, one-call runner for validation)."""
    kernel = getattr(lib, name)
    kernel.restype = ctypes.c_double if name == "dot" else None
    loop = getattr(lib, f"bench_{name}")
    loop.restype = ctypes.c_double
    hist = np.zeros(64, dtype=np.int64)
    args = c_arguments(name, inputs, hist)

    def block(reps: int) -> float:
        return float(loop(*args, ctypes.c_long(reps)))

    def once(fresh: tuple[Any, ...]) -> Any:
        counts = np.zeros(64, dtype=np.int64)
        result = kernel(*c_arguments(name, fresh, counts))
        return counts if name == "histogram" else result

    return block, once


# ---- numba ------------------------------------------------------------------------------------------
def _numba_histogram(nbins: int) -> Callable[..., None]:
    """The histogram kernel's body with the host Global as an argument (numba cannot write global arrays)."""

    def histogram(x: Array, lo: float, hi: float, hist: Array) -> None:
        scale = nbins / (hi - lo)
        for i in range(len(x)):
            v = x[i]
            if lo <= v < hi:
                b = int((v - lo) * scale)
                if b >= nbins:
                    b = nbins - 1
                hist[b] += 1

    return histogram


def numba_contender(
    name: str, entry: Any, nbins: int, *, fastmath: bool
) -> tuple[Callable[..., Any], Callable[[tuple[Any, ...]], tuple[Any, ...]]]:
    """(numba function, inputs -> its arguments) for a suite kernel."""
    import numba

    if name == "histogram":
        fn = numba.njit(fastmath=fastmath)(_numba_histogram(nbins))
        hist = np.zeros(nbins, dtype=np.int64)
        return fn, lambda inputs: (*inputs, hist)
    if entry.consts:
        inner = numba.njit(fastmath=fastmath, inline="always")(entry.kernel)
        block = int(entry.consts["BLOCK"])  # a closure variable is a compile-time constant to numba

        def bound(a: Array, b: Array, c: Array) -> None:
            inner(a, b, c, block)

        return numba.njit(fastmath=fastmath)(bound), lambda inputs: tuple(inputs)
    return numba.njit(fastmath=fastmath)(entry.kernel), lambda inputs: tuple(inputs)


# ---- the benchmark ----------------------------------------------------------------------------------
def _kernel_rows(name: str, entry: Any, suite: ModuleType, libs: Mapping[str, ctypes.CDLL]) -> tuple[list[Any], Any]:
    import autotune

    rng = np.random.default_rng(2024)
    pristine = entry.make_inputs(SIZES[name], rng)
    expected = entry.reference(*copies(pristine))
    inputs = copies(pristine)  # timing works on these (in-place kernels keep updating them)
    k = autotune.tunable(name=f"bench.suite.{name}", default=entry.consts, **entry.space)(entry.kernel)
    runner = NativeRunner(k, inputs)
    default = k.space.default

    # (b) the reduced grid
    space = dict(GRID, **({"BLOCK": entry.space["BLOCK"]} if "BLOCK" in entry.space else {}))
    started = time.perf_counter()
    measured: list[tuple[float, dict[str, Any]]] = []
    invalid = 0
    for params in grid(space):
        unit = k.compile(**params)
        try:
            address = unit.address("kernel")
            if not valid(entry, pristine, expected, variant_runner(k, address)):
                invalid += 1
                continue
            measured.append((fastest_ns(runner.block(address)), params))
        finally:
            unit.retire()
    measured.sort(key=lambda item: item[0])
    # The first pass is one short measurement per variant; the leaders are timed again, interleaved.
    leaders = [k.space.validate(params) for _, params in measured[:FINALISTS]]
    finalists = [k.compile(**params) for params in leaders]
    again = interleaved({str(i): runner.block(u.address("kernel")) for i, u in enumerate(finalists)}, 5, 0.005)
    for unit in finalists:
        unit.retire()
    grid_best = leaders[int(min(again, key=lambda i: again[i]))]
    grid_seconds = time.perf_counter() - started

    # (c) the tuner over the full space
    autotune.configure(max_trials=TUNER_TRIALS, max_seconds=120.0)
    k(*inputs)
    started = time.perf_counter()
    k.tune(n_trials=TUNER_TRIALS, progress=False)
    tune_seconds = time.perf_counter() - started
    trials = sum(e.kind in ("trial", "fail") for e in k.events.events())
    tuned = dict(k.live or {})

    variants = {"default": default, "grid best": grid_best, "tuned": tuned}
    units = {label: k.compile(**params) for label, params in variants.items()}
    numba_strict, strict_args = numba_contender(name, entry, suite.NBINS, fastmath=False)
    numba_fast, fast_args = numba_contender(name, entry, suite.NBINS, fastmath=True)
    c_strict, c_strict_once = c_contender(libs["strict"], name, inputs)
    c_fast, c_fast_once = c_contender(libs["fast"], name, inputs)

    def numba_runner(fn: Callable[..., Any], args: Callable[[tuple[Any, ...]], tuple[Any, ...]]) -> Any:
        def run(fresh: tuple[Any, ...]) -> Any:
            call = args(fresh)
            if name == "histogram":
                call[-1][...] = 0
            result = fn(*call)
            return call[-1].copy() if name == "histogram" else result

        return run

    def returned(fresh: tuple[Any, ...], result: Any) -> Any:
        return result

    hist_output = returned if name == "histogram" else None  # numba and C count into their own array
    # label -> (variant text, timing block, output valid)
    contenders: dict[str, tuple[str, Block, bool]] = {}
    for label, unit in units.items():
        address = unit.address("kernel")
        ok = valid(entry, pristine, expected, variant_runner(k, address))
        contenders[f"autotune {label} [native loop]"] = (describe(variants[label], default), runner.block(address), ok)
    ok = valid(entry, pristine, expected, lambda fresh: k(*fresh))
    contenders["autotune tuned [k(*args) from Python]"] = (describe(tuned, default), python_block(k, inputs), ok)
    for label, fn, args in (("numba", numba_strict, strict_args), ("numba fastmath", numba_fast, fast_args)):
        ok = valid(entry, pristine, expected, numba_runner(fn, args), hist_output)
        contenders[f"{label} [from Python]"] = ("", python_block(fn, args(inputs)), ok)
    contenders["numpy reference [from Python]"] = ("", python_block(entry.reference, inputs), True)
    for label, block, once in (
        ("C gcc -O3 -march=native [C loop]", c_strict, c_strict_once),
        ("C gcc -O3 -march=native -ffast-math [C loop]", c_fast, c_fast_once),
    ):
        ok = valid(entry, pristine, expected, once, hist_output)
        contenders[label] = ("", block, ok)

    times = interleaved({label: block for label, (_, block, _) in contenders.items()})
    baseline = times["numba [from Python]"]
    rows = [
        [name, label, variant, times[label] / 1e3, times[label] / baseline, "yes" if ok else "NO"]
        for label, (variant, _, ok) in contenders.items()
    ]
    for unit in units.values():
        unit.retire()
    summary = {
        "size": SIZES[name],
        "grid_variants": len(grid(space)),
        "grid_invalid": invalid,
        "grid_seconds": round(grid_seconds, 1),
        "grid_best": grid_best,
        "grid_best_text": describe(grid_best, default),
        "tuner_trials": trials,
        "tuner_seconds": round(tune_seconds, 1),
        "tuned": tuned,
        "tuned_text": describe(tuned, default),
    }
    return rows, summary


def main() -> None:
    if isolated("suite"):
        return
    import numba

    suite = load_suite()
    rows: list[list[Any]] = []
    summaries: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-suite-c-") as tmp:
        libs = {"strict": build_c(Path(tmp), fast=False), "fast": build_c(Path(tmp), fast=True)}
        for name, entry in suite.SUITE.items():
            kernel_rows, summary = _kernel_rows(name, entry, suite, libs)
            rows += kernel_rows
            summaries[name] = summary
            print(
                f"{name}: grid {summary['grid_variants']} variants ({summary['grid_invalid']} invalid) in "
                f"{summary['grid_seconds']} s; tuner {summary['tuner_trials']} trials in {summary['tuner_seconds']} s",
                flush=True,
            )
    gcc = subprocess.run(["gcc", "--version"], capture_output=True, text=True, check=False).stdout.splitlines()
    report(
        "suite",
        ["kernel", "contender", "variant", "us/call", "ratio to numba", "valid"],
        rows,
        {
            "sizes": SIZES,
            "rounds": ROUNDS,
            "numba": numba.__version__,
            "gcc": gcc[0] if gcc else "?",
        },
    )
    report(
        "suite_search",
        ["kernel", "grid variants", "invalid", "grid s", "grid best", "tuner trials", "tuner s", "tuner pick"],
        [
            [
                name,
                s["grid_variants"],
                s["grid_invalid"],
                s["grid_seconds"],
                s["grid_best_text"],
                s["tuner_trials"],
                s["tuner_seconds"],
                s["tuned_text"],
            ]
            for name, s in summaries.items()
        ],
        {
            "grid": "vectorize 0,1,4,8,16 x interleave 0,2,4 x fastmath (x BLOCK 16,32,64 for matmul)",
            "tuner": f"k.tune over the full suite space, at most {TUNER_TRIALS} trials",
        },
    )


if __name__ == "__main__":
    main()
