"""Properties that need fresh processes: IR is byte-identical across processes, and integer division
by zero returns status 1 without ever executing a trapping instruction (a trap would kill the process).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from autotune.lang import Knobs, lower, parse_kernel
from examples.kernels import SUITE

ROOT = Path(__file__).resolve().parents[2]

KNOB_SETS = [
    {},
    {"vectorize": 8, "interleave": 2, "unroll": 4},
    {"vectorize": 1, "fastmath": True, "prefer_vector_width": 256},
]

DIGEST_SCRIPT = """
import hashlib, json, sys
from autotune.lang import Knobs, lower, parse_kernel
from examples.kernels import SUITE
out = {}
for name, entry in SUITE.items():
    info = parse_kernel(entry.kernel)
    for k, knobs in enumerate(json.loads(sys.argv[1])):
        ir = lower(info, entry.consts, Knobs(**knobs)).ir
        out[f"{name}/{k}"] = hashlib.sha256(ir.encode()).hexdigest()
print(json.dumps(out, sort_keys=True))
"""


def _run(script: str, *args: str, seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", script, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_ir_is_byte_identical_across_processes() -> None:
    here = {}
    for name, entry in SUITE.items():
        info = parse_kernel(entry.kernel)
        for k, knobs in enumerate(KNOB_SETS):
            ir = lower(info, entry.consts, Knobs(**knobs)).ir
            here[f"{name}/{k}"] = hashlib.sha256(ir.encode()).hexdigest()
    digests = []
    for seed in ("1", "4242"):  # different string hashing: set/dict order must not leak into the IR
        done = _run(DIGEST_SCRIPT, json.dumps(KNOB_SETS), seed=seed)
        assert done.returncode == 0, done.stderr
        digests.append(json.loads(done.stdout))
    assert digests[0] == here
    assert digests[1] == here
    assert len(set(here.values())) == len(here)  # knobs do change the IR


ZERO_DIVISION_SCRIPT = """
from autotune.lang import Knobs, lower, parse_kernel_source
from autotune.types import i32, i64
from tests.lang.runner import run_lowered

KERNELS = {
    "floordiv": "def k(a: i64, b: i64) -> i64:\\n    return a // b\\n",
    "mod": "def k(a: i64, b: i64) -> i64:\\n    return a % b\\n",
    "i32": "def k(a: i32, b: i32) -> i32:\\n    return a // b + a % b\\n",
    "const_zero": "def k(a: i64, b: i64) -> i64:\\n    return a // 0 + b\\n",
    "in_loop": (
        "def k(a: i64, b: i64) -> i64:\\n    s = 0\\n    for i in range(10):\\n"
        "        s += a % (b - i)\\n    return s\\n"
    ),
    "augmented": "def k(a: i64, b: i64) -> i64:\\n    a //= b\\n    return a\\n",
}
for name, source in KERNELS.items():
    lowered = lower(parse_kernel_source(source, namespace={"i64": i64, "i32": i32}), {}, Knobs())
    for a, b in ((7, 0), (-(2**31), -1), (-(2**63), -1), (5, 3), (0, 0), (7, 5)):
        if name == "i32" and abs(a) > 2**31:
            continue
        try:
            result = run_lowered(lowered, a, b)
        except ZeroDivisionError:
            result = "ZeroDivisionError"
        print(name, a, b, result)
"""


def test_integer_division_by_zero_is_status_1_not_a_crash() -> None:
    done = _run(ZERO_DIVISION_SCRIPT)
    assert done.returncode == 0, f"the process died ({done.returncode}): {done.stderr[-2000:]}"
    rows = {tuple(line.split()[:3]): line.split(" ", 3)[3] for line in done.stdout.splitlines()}
    for name in ("floordiv", "mod", "i32", "augmented"):
        assert rows[(name, "7", "0")] == "ZeroDivisionError"
        assert rows[(name, "0", "0")] == "ZeroDivisionError"
    assert rows[("floordiv", "7", "5")] == "1" and rows[("mod", "7", "5")] == "2"
    assert rows[("floordiv", str(-(2**63)), "-1")] == str(-(2**63))  # wraps like the hardware cannot
    assert rows[("mod", str(-(2**63)), "-1")] == "0"
    assert rows[("i32", str(-(2**31)), "-1")] == str(-(2**31))
    assert all(v == "ZeroDivisionError" for k, v in rows.items() if k[0] == "const_zero")
    assert rows[("in_loop", "7", "5")] == "ZeroDivisionError"  # b - i hits 0 at i == 5
    assert rows[("in_loop", str(-(2**31)), "-1")] != "ZeroDivisionError"  # b - i is never 0
