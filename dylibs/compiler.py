"""``compile_ir``: a pure function from IR text and options to host object code.

Purity is what makes the object cache sound: the result depends only on the IR, the options and the host
target, all of which go into the cache key. Each compile uses its own LLVM context so that thousands of
variants do not accumulate types in llvmlite's global context.

One cost is not the caller's to free: every optimisation pipeline leaks inside llvmlite 0.50 (about 31 KB for
``PassBuilder.getModulePassManager()`` even if never run, about 30 KB more to run the O3 pipeline; closing
every object frees none of it). :func:`pipeline_runs` counts those pipelines in this process, and
:class:`dylibs.Session` compiles in a worker process once the count passes its in-process budget.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import llvmlite.binding as llvm

from ._llvm import host_target, target_machine
from .errors import CompileError
from .options import CompileOptions
from .veclib import rewrite_vector_math

__all__ = ["compile_ir", "emit_assembly", "optimize_ir", "pipeline_runs"]

_DEFAULT = CompileOptions()

_runs_lock = threading.Lock()
_runs = 0


def pipeline_runs() -> int:
    """Optimisation pipelines built in this process so far, by any of the three functions here.

    Each one has leaked about 60 KB inside llvmlite for good, so this is the honest measure of what
    compiling in this process has cost. The count is the process's, not a session's; a forked child
    inherits its parent's count, as it inherits the parent's memory.
    """
    with _runs_lock:
        return _runs


def _count_pipeline_run() -> None:
    global _runs
    with _runs_lock:
        _runs += 1


@contextmanager
def _optimized(ir: str, options: CompileOptions) -> Iterator[Any]:
    """Yield the parsed, verified, optimised module; dispose of it, then of its context."""
    host = host_target()
    if not isinstance(ir, str):
        raise CompileError(f"IR must be text, got {type(ir).__name__}")
    context = llvm.create_context()
    module: Any = None
    try:
        try:
            module = llvm.parse_assembly(ir, context=context)
        except RuntimeError as exc:
            raise CompileError("LLVM could not parse the IR", str(exc).strip()) from None
        if not module.triple:
            module.triple = host.triple
        if not module.data_layout:
            module.data_layout = host.data_layout
        try:
            module.verify()
        except RuntimeError as exc:
            raise CompileError("the IR is not valid", str(exc).strip()) from None
        tuning = llvm.create_pipeline_tuning_options(speed_level=options.opt)
        tuning.loop_vectorization = options.loop_vectorize
        tuning.slp_vectorization = options.slp_vectorize
        tuning.loop_unrolling = options.loop_unroll
        tuning.loop_interleaving = options.loop_interleave
        builder = llvm.create_pass_builder(target_machine(options.opt), tuning)
        _count_pipeline_run()  # counted before the call: building the pass manager alone leaks
        builder.getModulePassManager().run(module, builder)
        if options.veclib:
            text = str(module)
            rewritten = rewrite_vector_math(text, host.features)
            if rewritten != text:
                module.close()
                module = None
                module = llvm.parse_assembly(rewritten, context=context)
        yield module
    finally:
        # A module must die before its context, or its finaliser frees into freed memory.
        if module is not None:
            module.close()
        context.close()


def compile_ir(ir: str, options: CompileOptions = _DEFAULT) -> bytes:
    """Parse, verify, optimise and emit ``ir`` as a host object file (ELF bytes).

    IR without a target triple or data layout gets the host's. Raises :class:`CompileError` with LLVM's
    message for IR that does not parse or verify. Runs in this process and counts in :func:`pipeline_runs`.
    """
    with _optimized(ir, options) as module:
        try:
            return bytes(target_machine(options.opt).emit_object(module))
        except RuntimeError as exc:
            raise CompileError("LLVM failed to emit code", str(exc).strip()) from None


def optimize_ir(ir: str, options: CompileOptions = _DEFAULT) -> str:
    """The IR after the optimisation pipeline, as text (what ``inspect_llvm`` shows).

    Runs in this process and counts in :func:`pipeline_runs` (inspection is rare; it never starts a worker).
    """
    with _optimized(ir, options) as module:
        return str(module)


def emit_assembly(ir: str, options: CompileOptions = _DEFAULT) -> str:
    """The host assembly for ``ir`` (what ``inspect_asm`` shows); in process, counted like :func:`optimize_ir`."""
    with _optimized(ir, options) as module:
        return str(target_machine(options.opt).emit_assembly(module))
