"""Kernels whose source autotune cannot read (REPL, ``python -c``, exec) and kernels given as source text.

Where ``inspect`` has no source, decorating fails with a :class:`KernelSyntaxError` that names the case and
the fix; ``autotune.tunable(source=...)`` takes the text instead. IPython cells (sources in ``linecache``)
keep working as decorated functions.
"""

from __future__ import annotations

import inspect
import linecache
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autotune
from autotune import KernelSyntaxError, f64
from autotune.storage import study_name

ROOT = Path(__file__).resolve().parents[2]

DECORATED = """
import autotune
from autotune import f64
@autotune.tunable
def plus_one(x: f64) -> f64:
    return x + 1.0
"""


def _python(
    args: list[str], stdin: str | None = None, cache: Path | None = None, seed: str = "0"
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AUTOTUNE_BACKGROUND": "0", "PYTHONHASHSEED": seed}
    if cache is not None:
        env["AUTOTUNE_CACHE_DIR"] = str(cache)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


# ---- no source: the error says why and what to do -------------------------------------------------
def test_python_c_kernel_names_the_case_and_the_fix() -> None:
    done = _python(["-c", DECORATED])
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("autotune.errors.KernelSyntaxError: <string>:"), last
    assert "source of kernel 'plus_one' is not available" in last
    assert "'python -c' command" in last
    assert "module file" in last and "autotune.tunable(source=" in last


def test_repl_kernel_names_the_case_and_source_text_works_there(tmp_path: Path) -> None:
    session = DECORATED + (
        "\n"
        "import numpy as np\n"
        "SCALE = 3.0\n"
        "table = np.arange(4.0)\n"
        "k = autotune.tunable(source='''\n"
        "def k(x: f64) -> f64:\n"
        "    return x * SCALE + table[2]\n"
        "''')\n"
        "print('RESULT', k(2.0), k.py_func(2.0), k.name)\n"
    )
    done = _python(["-i"], stdin=session, cache=tmp_path)
    assert "interactive interpreter (<stdin>)" in done.stderr, done.stderr
    assert "autotune.tunable(source=" in done.stderr
    assert "RESULT 8.0 8.0 __main__.k" in done.stdout, done.stdout + done.stderr


def test_exec_string_kernel_names_the_case() -> None:
    namespace = {"autotune": autotune, "f64": f64}
    with pytest.raises(KernelSyntaxError, match=r"compiled from a string \(<generated>, e\.g\. by exec\(\)\)") as info:
        exec(compile(DECORATED, "<generated>", "exec"), namespace)
    assert info.value.filename == "<generated>"
    assert "autotune.tunable(source=" in info.value.message


def test_tunable_ir_reference_from_the_repl_needs_no_source(tmp_path: Path) -> None:
    """The expert route reads only the reference's annotations, so a REPL reference is fine."""
    session = (
        "import autotune\n"
        "from autotune import f64\n"
        "def ref(x: f64) -> f64:\n"
        "    return x + 1.0\n"
        "\n"
        "@autotune.tunable_ir(reference=ref)\n"
        "def gen(**params):\n"
        "    return '''define i32 @kernel(double %x, double* %out) {\n"
        "  %y = fadd double %x, 1.0\n"
        "  store double %y, double* %out\n"
        "  ret i32 0\n"
        "}'''\n"
        "\n"
        "print('RESULT', gen(2.0))\n"
    )
    done = _python(["-"], stdin=session, cache=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "RESULT 3.0" in done.stdout


# ---- IPython / Jupyter cells: linecache holds the source ------------------------------------------
def test_ipython_style_cell_is_read_from_linecache() -> None:
    cell = "def cell_kernel(x: f64[:]) -> f64:\n    s = 0.0\n    for i in range(len(x)):\n        s += x[i]\n"
    cell += "    return s\n"
    filename = "<ipython-input-7-0123456789ab>"
    linecache.cache[filename] = (len(cell), None, cell.splitlines(keepends=True), filename)
    try:
        namespace: dict[str, object] = {"f64": f64, "__name__": "__main__"}
        exec(compile(cell, filename, "exec"), namespace)
        kernel = autotune.tunable(namespace["cell_kernel"])  # type: ignore[call-overload]
        assert kernel(np.arange(5.0)) == 10.0
        assert kernel.name == "__main__.cell_kernel"
    finally:
        del linecache.cache[filename]


IPYTHON_CELL = """
import numpy as np
import autotune
from autotune import f64

@autotune.tunable(vectorize=[0, 4])
def cell_sum(x: f64[:]) -> f64:
    s = 0.0
    for v in x:
        s += v
    return s

out = cell_sum(np.arange(5.0))
"""

IPYTHON_SESSION = f"""
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_cell({IPYTHON_CELL!r}).raise_error()
print("RESULT", shell.user_ns["out"], shell.user_ns["cell_sum"].name)
"""


def test_a_kernel_decorated_in_a_real_ipython_cell_runs(tmp_path: Path) -> None:
    pytest.importorskip("IPython")
    done = _python(["-c", IPYTHON_SESSION], cache=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "RESULT 10.0 __main__.cell_sum" in done.stdout


# ---- source text -----------------------------------------------------------------------------------
SCALE = 2.0
WEIGHTS = np.array([1.0, 2.0, 3.0, 4.0])

DOT = """
def dot(a: f64["n"], b: f64["n"]) -> f64:
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * b[i] * SCALE
    return s
"""


def test_source_text_kernel_runs_matches_py_func_and_sees_caller_globals() -> None:
    kernel = autotune.tunable(source=DOT, vectorize=[0, 4])
    a, b = np.arange(10.0), np.linspace(0.0, 1.0, 10)
    assert kernel(a, b) == pytest.approx(kernel.py_func(a, b))
    assert kernel(a, b) == pytest.approx(2.0 * float(a @ b))
    assert kernel.name == f"{__name__}.dot"
    assert kernel.py_func.__name__ == "dot" and kernel.py_func.__module__ == __name__
    assert inspect.getsource(kernel.py_func).startswith('def dot(a: f64["n"]')


def test_source_text_positional_namespace_wins_and_module_arrays() -> None:
    text = "def weigh(x: f64['n']) -> f64:\n    return x[0] * WEIGHTS[1] * SCALE + math.sqrt(np.float64(4.0))\n"
    kernel = autotune.tunable(text, namespace={"SCALE": 10.0})
    assert kernel(np.array([1.5])) == pytest.approx(1.5 * 2.0 * 10.0 + 2.0)
    assert kernel.py_func(np.array([1.5])) == pytest.approx(32.0)


def test_source_text_errors_point_at_lines_of_the_text() -> None:
    lines = ["", "def bad(x: f64) -> f64:", "    y = x", "    with open('f'):", "        pass", "    return y"]
    text = "\n".join(lines)
    with pytest.raises(KernelSyntaxError) as info:
        autotune.tunable(source=text)
    assert (info.value.filename, info.value.lineno, info.value.col) == ("<kernel source bad>", 4, 4)
    with pytest.raises(KernelSyntaxError, match=r"name 'UNDEFINED_THING' is not defined") as info:
        autotune.tunable(source="def bad(x: f64) -> f64:\n\n    return x + UNDEFINED_THING\n")
    assert info.value.lineno == 3
    with pytest.raises(KernelSyntaxError) as info:
        autotune.tunable(source="def bad(x: f64) -> f64:\n    return x +\n")
    assert (info.value.filename, info.value.lineno) == ("<kernel source>", 2)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("x = 1.0", "must define the kernel with one 'def'"),
        ("f8(f8[:])", "it is not a signature string"),
        ("def a(x: f64) -> f64:\n    return x\ndef b(x: f64) -> f64:\n    return x\n", "defines 2 functions"),
        ("N = 4\ndef a(x: f64) -> f64:\n    return x\n", "may hold imports and one 'def'"),
    ],
)
def test_source_text_without_exactly_one_def_is_refused(text: str, match: str) -> None:
    with pytest.raises(KernelSyntaxError, match=match):
        autotune.tunable(source=text)


def test_source_text_imports_and_decorators() -> None:
    text = "import math as m\n@autotune.tunable\ndef root(x: f64) -> f64:\n    return m.sqrt(x)\n"
    kernel = autotune.tunable(source=text)
    assert kernel(9.0) == 3.0 and kernel.py_func(16.0) == 4.0


def test_source_text_argument_mistakes() -> None:
    with pytest.raises(autotune.SpaceError, match="not both"):
        autotune.tunable(DOT, source=DOT)  # type: ignore[call-overload]
    with pytest.raises(autotune.SpaceError, match="namespace= goes with"):
        autotune.tunable(namespace={})  # type: ignore[call-overload]


def test_space_given_as_a_dict_of_knob_lists() -> None:
    kernel = autotune.tunable(source=DOT.replace("dot", "dict_dot"), space={"vectorize": [4, 0], "unroll": [2]})
    assert kernel.space.default == {"vectorize": 4, "unroll": 2}
    with pytest.raises(autotune.SpaceError, match="a dict of knob lists, got list"):
        autotune.tunable(source=DOT, space=[("vectorize", [0, 4])])  # type: ignore[call-overload]


def test_source_text_kernel_tunes() -> None:
    kernel = autotune.tunable(source=DOT.replace("dot", "tuned_dot"), vectorize=[0, 4], unroll=[0, 2])
    a, b = np.linspace(0.0, 1.0, 256), np.linspace(1.0, 2.0, 256)
    kernel(a, b)
    best = kernel.tune(n_trials=3, progress=False)
    assert set(best) >= {"vectorize", "unroll"}
    (status,) = [s for s in autotune.tuner.status() if s.kernel == kernel.name]
    assert not status.reason.startswith("error") and status.trials >= 1, status
    assert kernel(a, b) == pytest.approx(kernel.py_func(a, b))


STUDY = """
import autotune
from autotune.storage import study_name
SCALE = 2.0
k = autotune.tunable(source='''{text}''', vectorize=[0, 4])
print(study_name(k, "__default__"))
"""


def test_source_text_study_name_is_stable_across_processes(tmp_path: Path) -> None:
    script = STUDY.format(text=DOT)
    names = []
    for seed in ("1", "77"):
        done = _python(["-c", script], cache=tmp_path, seed=seed)
        assert done.returncode == 0, done.stderr
        names.append(done.stdout.strip())
    assert names[0] == names[1] and names[0].startswith("autotune:__main__.dot:")
    here = autotune.tunable(source=DOT, vectorize=[0, 4])
    assert study_name(here, "__default__").split(":")[2] == names[0].split(":")[2]  # same fingerprint
