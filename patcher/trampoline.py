"""Trampoline IR: the stable native entry point of a slot, and the reclaimer's drain check.

Every call counts itself in and out of the slot's current epoch, SRCU style: per epoch a monotonic *enter*
and *exit* count. The reclaimer flips the epoch and frees a replaced variant only when the old epoch's
counts match. Counts live in per-thread records found by hashing the thread pointer (``%fs:0`` in the
x86-64 System V TLS ABI, https://www.akkadia.org/drepper/tls.pdf section 4.3). A record is written only by
its own thread, so the increments are plain loads and stores behind a compiler-only fence: no ``lock``
prefix on the call path. The missing CPU fence is supplied by the reclaimer, which calls
``membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`` after a flip and before reading counts (the asymmetric
fence of liburcu's urcu-memb flavour, https://man7.org/linux/man-pages/man2/membarrier.2.html): a count
stored before that barrier is visible to the reclaimer, and a caller that counted itself in after it also
loads the function pointer after it, so it sees the new variant. A thread whose record is taken by
another thread (hash collision), and every thread when membarrier is unavailable, uses a shared record
with locked atomic increments instead.

Slot memory (64-bit words): line 0 holds 0 function pointer, 1 epoch (0 or 1), 2-3 shared enter counts
per epoch, 4-5 shared exit counts per epoch. Then RECORDS lines, one per thread: 0 owner thread pointer,
1-2 enter counts, 3-4 exit counts. Trampolines are generated in batches (:func:`trampoline_ir`, used by
:mod:`patcher.slot`): trampoline ``i`` of a batch owns the ``WORDS`` words at ``i * WORDS`` of one array.
"""

from __future__ import annotations

from .signature import Signature

__all__ = ["DRAIN_IR", "EPOCH", "FUNCTION", "RECORDS", "WORDS", "enter_words", "trampoline_ir", "trampoline_name"]

FUNCTION, EPOCH, SHARED_ENTER, SHARED_EXIT = 0, 1, 2, 4
RECORDS = 64
WORDS = 8 * (RECORDS + 1)
_KEY, _ENTER, _EXIT = 0, 1, 3


def enter_words() -> list[int]:
    """Indexes of every enter count (their sum is the slot's call count)."""
    per_thread = [8 * (r + 1) + _ENTER + e for r in range(RECORDS) for e in (0, 1)]
    return [SHARED_ENTER, SHARED_ENTER + 1, *per_thread]


def _zero(ir_type: str) -> str:
    return {"void": "", "double": "0.0", "float": "0.0", "ptr": "null"}.get(ir_type, "0")


def trampoline_name(index: int) -> str:
    """The exported name of the ``index``-th trampoline of a batch."""
    return f"trampoline{index}"


def trampoline_ir(signature: Signature, *, per_thread: bool, count: int = 1) -> str:
    """IR of a batch: ``@trampoline0`` .. ``@trampoline{count-1}`` (counting entries) and one ``@stub``.

    Trampoline ``i`` uses the slot memory at word ``i * WORDS`` of the external global ``@slots`` (one host
    array for the batch, bound at link time), so the IR holds no address and the object cache serves it:
    one text per (signature, per_thread, count). ``@stub`` returns zero; a slot calls it until its first
    publish. ``per_thread`` selects the lock-free per-thread records; it is only sound when the reclaimer
    issues membarrier, so the caller passes False where that syscall is unavailable.
    """
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive int, got {count!r}")
    ret = signature.ret.ir
    ret_attr = f"{signature.ret.ext} " if signature.ret.ext else ""
    args = ", ".join(f"{a.ir} {a.ext + ' ' if a.ext else ''}%a{i}" for i, a in enumerate(signature.args))
    stub_ret = "ret void" if ret == "void" else f"ret {ret} {_zero(ret)}"
    body = _trampoline_body(signature, per_thread=per_thread)
    functions = [
        f"""define {ret_attr}{ret} @{trampoline_name(i)}({args}) nounwind {{
entry:
  %slot = getelementptr inbounds i64, ptr @slots, i64 {i * WORDS}
{body}}}
"""
        for i in range(count)
    ]
    return f"""@slots = external global [{count * WORDS} x i64]

{chr(10).join(functions)}
define {ret_attr}{ret} @stub({args}) nounwind {{
  {stub_ret}
}}
"""


def _trampoline_body(signature: Signature, *, per_thread: bool) -> str:
    """The instructions of one trampoline after ``entry:``; ``%slot`` points at its slot memory."""
    ret = signature.ret.ir
    ret_attr = f"{signature.ret.ext} " if signature.ret.ext else ""
    args = ", ".join(f"{a.ir} {a.ext + ' ' if a.ext else ''}%a{i}" for i, a in enumerate(signature.args))
    fn_type = f"{ret} ({', '.join(a.ir for a in signature.args)})"
    result = "" if ret == "void" else "%r = "
    ret_stmt = "ret void" if ret == "void" else f"ret {ret} %r"
    record_lookup = (
        f"""  %tp = call i64 asm "movq %fs:0, $0", "=r"()
  %hash = mul i64 %tp, -7046029254386353131
  %h = lshr i64 %hash, 58
  %line = add i64 %h, 1
  %base = mul i64 %line, 8
  %rec = getelementptr inbounds i64, ptr %slot, i64 %base
  %key = load atomic i64, ptr %rec monotonic, align 8
  %mine = icmp eq i64 %key, %tp
  br i1 %mine, label %private, label %claim
claim:
  %cx = cmpxchg ptr %rec, i64 0, i64 %tp monotonic monotonic, align 8
  %won = extractvalue {{ i64, i1 }} %cx, 1
  br i1 %won, label %private, label %shared
private:
  %ei = add i64 %e, {_ENTER}
  %pe = getelementptr inbounds i64, ptr %rec, i64 %ei
  %n = load atomic i64, ptr %pe monotonic, align 8
  %n1 = add i64 %n, 1
  store atomic i64 %n1, ptr %pe monotonic, align 8
  fence syncscope("singlethread") seq_cst
  %pf = load atomic ptr, ptr %slot acquire, align 8
  {result.replace("%r", "%pr")}call {ret_attr}{fn_type} %pf({args})
  %xi = add i64 %e, {_EXIT}
  %px = getelementptr inbounds i64, ptr %rec, i64 %xi
  %x = load atomic i64, ptr %px monotonic, align 8
  %x1 = add i64 %x, 1
  store atomic i64 %x1, ptr %px release, align 8
  {ret_stmt.replace("%r", "%pr")}
"""
        if per_thread
        else "  br label %shared\n"
    )
    return f"""  %ep = getelementptr inbounds i64, ptr %slot, i64 {EPOCH}
  %e = load atomic i64, ptr %ep acquire, align 8
{record_lookup}shared:
  %si = add i64 %e, {SHARED_ENTER}
  %se = getelementptr inbounds i64, ptr %slot, i64 %si
  %0 = atomicrmw add ptr %se, i64 1 seq_cst, align 8
  %sf = load atomic ptr, ptr %slot seq_cst, align 8
  {result}call {ret_attr}{fn_type} %sf({args})
  %sxi = add i64 %e, {SHARED_EXIT}
  %sx = getelementptr inbounds i64, ptr %slot, i64 %sxi
  %1 = atomicrmw add ptr %sx, i64 1 release, align 8
  {ret_stmt}
"""


#: ``i64 drained(ptr slot, i64 epoch)``: 1 when every call counted into ``epoch`` has left. Exit counts are
#: read before enter counts, so a call in flight can only make the check fail, never pass early.
DRAIN_IR = f"""
define i64 @drained(ptr %slot, i64 %e) nounwind {{
entry:
  %sxi = add i64 %e, {SHARED_EXIT}
  %sx = getelementptr inbounds i64, ptr %slot, i64 %sxi
  %x0 = load atomic i64, ptr %sx seq_cst, align 8
  %sei = add i64 %e, {SHARED_ENTER}
  %se = getelementptr inbounds i64, ptr %slot, i64 %sei
  %n0 = load atomic i64, ptr %se seq_cst, align 8
  %ok0 = icmp eq i64 %x0, %n0
  br i1 %ok0, label %loop, label %busy
loop:
  %r = phi i64 [1, %entry], [%r1, %next]
  %base = mul i64 %r, 8
  %xi = add i64 %base, {_EXIT}
  %xo = add i64 %xi, %e
  %px = getelementptr inbounds i64, ptr %slot, i64 %xo
  %x = load atomic i64, ptr %px seq_cst, align 8
  %ni = add i64 %base, {_ENTER}
  %no = add i64 %ni, %e
  %pn = getelementptr inbounds i64, ptr %slot, i64 %no
  %n = load atomic i64, ptr %pn seq_cst, align 8
  %ok = icmp eq i64 %x, %n
  br i1 %ok, label %next, label %busy
next:
  %r1 = add i64 %r, 1
  %more = icmp sle i64 %r1, {RECORDS}
  br i1 %more, label %loop, label %done
done:
  ret i64 1
busy:
  ret i64 0
}}
"""
