"""Cache misses compile in the shared worker process once this process has used its in-process budget."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from dylibs import CompileError, DylibError, Session, compile_ir
from dylibs.compiler import pipeline_runs

from .conftest import ADD_IR, I64_I64


def _run(module: str, *args: str, timeout: float = 120) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-m", f"tests.dylibs.{module}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode} (negative: killed by a signal)\n{done.stderr}"
    return {k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", done.stdout)}


def test_1500_distinct_ir_loads_keep_rss_growth_under_12_mb() -> None:
    # Before the worker, each load leaked about 60 KB inside llvmlite: +78 MB over these 1,300 loads.
    result = _run("_compile_memory", "1500", "200")
    assert result["after"] - result["before"] < 12 * 1024, result
    assert result["in_process"] == 32 and result["in_worker"] == 1468, result
    assert result["pipeline_runs"] == 32, result


def test_worker_compiled_loads_are_correct() -> None:
    runs = pipeline_runs()
    with Session(cache=None, in_process_compiles=0) as session:
        units = [session.load(ADD_IR.format(k=k), exports=["add"]) for k in range(-5, 15)]
        assert [I64_I64(u.address("add"))(100) for u in units] == list(range(95, 115))
        with pytest.raises(CompileError, match="could not parse") as error:
            session.load("define i64 @add(i64 %x) {\n  ret i32 0\n}", exports=["add"])
        assert error.value.llvm_message  # LLVM's own text survives the trip between processes
        stats = session.stats()
        assert (stats.compiled_in_process, stats.compiled_in_worker) == (0, 20)
        assert pipeline_runs() == runs  # nothing more leaked here
        explicit = session.load(ADD_IR.format(k=1000), exports=["add"], compiler=compile_ir)
        assert I64_I64(explicit.address("add"))(1) == 1001
        assert pipeline_runs() == runs + 1 and session.stats().compiled_in_worker == 20


def test_budget_is_counted_for_the_whole_process() -> None:
    with Session(cache=None, in_process_compiles=pipeline_runs() + 2) as session:
        compile_ir(ADD_IR.format(k=-1))  # any pipeline in this process spends the budget
        for k in range(3):
            assert I64_I64(session.load(ADD_IR.format(k=k), exports=["add"]).address("add"))(1) == k + 1
        stats = session.stats()
        assert (stats.compiled_in_process, stats.compiled_in_worker) == (1, 2)
    with Session(cache=None, in_process_compiles=None) as session:
        session.load(ADD_IR.format(k=7), exports=["add"])
        assert session.stats().compiled_in_process == 1


def test_bad_budget_and_closed_session_are_refused() -> None:
    for bad in (-1, 1.5, True):
        with pytest.raises(DylibError):
            Session(cache=None, in_process_compiles=bad)  # type: ignore[arg-type]
    session = Session(cache=None, in_process_compiles=0)
    session.close()
    with pytest.raises(DylibError, match="closed"):
        session.load(ADD_IR.format(k=1), exports=["add"])


def test_close_stops_the_worker_and_is_safe_twice() -> None:
    assert _run("_worker_scenarios", "close")["stopped"] == 1


def test_forked_child_starts_its_own_worker_and_exits_promptly() -> None:
    result = _run("_worker_scenarios", "fork", timeout=90)
    assert result["close_ms"] < 3000, result  # a child's copies of the pipes never keep the worker waiting
    assert result["child_exit_ms"] < 10_000, result
