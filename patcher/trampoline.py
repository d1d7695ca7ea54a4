"""Trampoline IR: the stable native entry point of a slot.

Every call counts itself in and out of the slot's current epoch, SRCU style (Linux
``Documentation/RCU/whatisRCU.rst`` and ``kernel/rcu/srcutree.c``): per epoch a monotonic *enter* and
*exit* counter. The reclaimer flips the epoch and frees a replaced variant only when the old epoch's enter
and exit counts match. The enter increment is sequentially consistent and precedes the load of the
function pointer, so a caller that increments too late to be seen by the reclaimer is guaranteed to load
the newly published pointer instead of the retired one.

Slot memory (one 64-byte line, host-owned, 64-bit words): 0 function pointer, 1 epoch (0 or 1),
2-3 enter counts per epoch, 4-5 exit counts per epoch. Total calls are enter[0] + enter[1].
"""

from __future__ import annotations

from .signature import Signature

__all__ = ["EPOCH", "ENTER", "EXIT", "FUNCTION", "WORDS", "trampoline_ir"]

FUNCTION, EPOCH, ENTER, EXIT, WORDS = 0, 1, 2, 4, 8


def _zero(ir_type: str) -> str:
    return {"void": "", "double": "0.0", "float": "0.0", "ptr": "null"}.get(ir_type, "0")


def trampoline_ir(signature: Signature) -> str:
    """IR defining ``@trampoline`` (the counting entry) and ``@stub`` (returns zero until a publish)."""
    ret = signature.ret.ir
    ret_attr = f"{signature.ret.ext} " if signature.ret.ext else ""
    params = ", ".join(f"{a.ir} {a.ext + ' ' if a.ext else ''}%a{i}" for i, a in enumerate(signature.args))
    call_args = ", ".join(f"{a.ir} {a.ext + ' ' if a.ext else ''}%a{i}" for i, a in enumerate(signature.args))
    fn_type = f"{ret} ({', '.join(a.ir for a in signature.args)})"
    if ret == "void":
        call, ret_stmt, stub_ret = f"call {ret_attr}{fn_type} %f({call_args})", "ret void", "ret void"
    else:
        call = f"%r = call {ret_attr}{fn_type} %f({call_args})"
        ret_stmt, stub_ret = f"ret {ret} %r", f"ret {ret} {_zero(ret)}"
    return f"""@slot = external global [{WORDS} x i64]

define {ret_attr}{ret} @trampoline({params}) nounwind {{
entry:
  %ep = getelementptr inbounds i64, ptr @slot, i64 {EPOCH}
  %e = load atomic i64, ptr %ep acquire, align 8
  %ei = add i64 %e, {ENTER}
  %enter = getelementptr inbounds i64, ptr @slot, i64 %ei
  %0 = atomicrmw add ptr %enter, i64 1 seq_cst, align 8
  %f = load atomic ptr, ptr @slot seq_cst, align 8
  {call}
  %xi = add i64 %e, {EXIT}
  %exit = getelementptr inbounds i64, ptr @slot, i64 %xi
  %1 = atomicrmw add ptr %exit, i64 1 release, align 8
  {ret_stmt}
}}

define {ret_attr}{ret} @stub({params}) nounwind {{
  {stub_ret}
}}
"""
