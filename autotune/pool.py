"""The native thread pool that ``prange`` loops run on, and the thread counts the ``parallel`` knob tries.

One pool per process, written in LLVM IR and JIT-linked once into the permanent session (never sealed, never
unloaded), so it outlives every variant whose loop bodies it runs. Variants are separate units that are
unloaded when retired: they import the pool's one entry point, :data:`autotune.abi.POOL_RUN`::

    void autotune.pool.run(ptr task, ptr ctx, i64 chunks, i64 threads)

which calls ``task(ctx, c)`` exactly once for every chunk ``c`` in ``[0, chunks)`` and returns when all
have returned. A chunk's results go where ``task`` puts them (the outlined loop writes its partial
reductions and status into a per-chunk slot, see :mod:`autotune.lang._parallel`), so which thread runs a
chunk never changes a result: parallel results depend on the chunk count alone.

Design (why, not only what):

- Threads come from the C library every Linux process already has (glibc/musl, reached through
  ``ctypes.CDLL(None)``): ``pthread_create``, ``pthread_detach``, ``pthread_mutex_lock``/``unlock``,
  ``pthread_cond_wait``/``broadcast``, ``pthread_sigmask``, ``sigfillset`` and ``getpid``. No Python
  thread and no ctypes callback is on the call path: the kernel runs with the GIL released and calls
  the pool directly.
- Persistent workers parked on a condition variable, started lazily up to ``threads - 1`` (the calling
  thread takes a share of the chunks, so ``threads`` threads work). Chunks are claimed with a
  compare-and-swap on one word holding ``(job number << 32) | next chunk``: a worker late from an old
  job can never claim a chunk of the next one (whose task may belong to another unit). The last chunk to
  finish wakes the caller, which waits on a second condition variable.
- One job at a time: a caller takes the pool with a compare-and-swap on ``owner`` (the pid of the process
  that took it). A second application thread that finds the pool busy runs all its chunks itself, in
  order: same results, no deadlock, no waiting on someone else's kernel.
- Fork safety: a forked child inherits the pool's memory but none of its threads (and maybe a mutex
  locked by a thread that no longer exists). The pool records the pid it started its workers in; a
  caller in another process resets the mutex and condition variables to their static initialisers
  (all-zero in glibc), forgets the workers and starts new ones. An ``owner`` left by the parent (its pid,
  not ours) is taken over.
- Workers block every signal (the mask is set around ``pthread_create``), so signals still go to the
  application's threads, as Python expects.

The mutex and condition variables are 64-byte zeroed globals: ``pthread_mutex_t`` is 40 bytes and
``pthread_cond_t`` 48 on x86-64 and aarch64 glibc, and an all-zero object is
``PTHREAD_MUTEX_INITIALIZER``/``PTHREAD_COND_INITIALIZER`` there.
"""

from __future__ import annotations

import ctypes
import os
import threading

from dylibs import SymbolMap

from .abi import POOL_RUN
from .runtime import permanent_session

__all__ = ["parallel_values", "run_address"]


_LIBC = (
    "pthread_create",
    "pthread_detach",
    "pthread_mutex_lock",
    "pthread_mutex_unlock",
    "pthread_cond_wait",
    "pthread_cond_broadcast",
    "pthread_sigmask",
    "sigfillset",
    "getpid",
    "memset",
)
_SIG_SETMASK = 2  # Linux, every architecture glibc supports
_SIGSET_BYTES = 128  # glibc's sigset_t

_POOL_IR = f"""
@pool.mutex = internal global [64 x i8] zeroinitializer, align 64
@pool.wake = internal global [64 x i8] zeroinitializer, align 64
@pool.done = internal global [64 x i8] zeroinitializer, align 64
@pool.owner = internal global i32 0, align 64
@pool.pid = internal global i32 0, align 4
@pool.workers = internal global i64 0, align 8
@pool.generation = internal global i64 0, align 8
@pool.task = internal global ptr null, align 8
@pool.ctx = internal global ptr null, align 8
@pool.chunks = internal global i64 0, align 8
@pool.claim = internal global i64 0, align 64
@pool.remaining = internal global i64 0, align 64

declare i32 @pthread_create(ptr, ptr, ptr, ptr)
declare i32 @pthread_detach(i64)
declare i32 @pthread_mutex_lock(ptr)
declare i32 @pthread_mutex_unlock(ptr)
declare i32 @pthread_cond_wait(ptr, ptr)
declare i32 @pthread_cond_broadcast(ptr)
declare i32 @pthread_sigmask(i32, ptr, ptr)
declare i32 @sigfillset(ptr)
declare i32 @getpid()
declare ptr @memset(ptr, i32, i64)

; Claim and run chunks of job %gen until none is left; the thread that finishes the last one wakes the caller.
define internal void @pool.drain(ptr %task, ptr %ctx, i64 %chunks, i64 %gen) nounwind {{
entry:
  br label %claim
claim:
  %v = load atomic i64, ptr @pool.claim seq_cst, align 8
  %g = lshr i64 %v, 32
  %c = and i64 %v, 4294967295
  %same = icmp eq i64 %g, %gen
  %left = icmp ult i64 %c, %chunks
  %ok = and i1 %same, %left
  br i1 %ok, label %try, label %out
try:
  %next = add i64 %v, 1
  %pair = cmpxchg ptr @pool.claim, i64 %v, i64 %next seq_cst seq_cst
  %won = extractvalue {{ i64, i1 }} %pair, 1
  br i1 %won, label %run, label %claim
run:
  call void %task(ptr %ctx, i64 %c)
  %before = atomicrmw sub ptr @pool.remaining, i64 1 seq_cst
  %last = icmp eq i64 %before, 1
  br i1 %last, label %signal, label %claim
signal:
  call i32 @pthread_mutex_lock(ptr @pool.mutex)
  call i32 @pthread_cond_broadcast(ptr @pool.done)
  call i32 @pthread_mutex_unlock(ptr @pool.mutex)
  br label %claim
out:
  ret void
}}

; A worker: wait for a job number it has not seen, take the job under the mutex, drain it, repeat forever.
define internal ptr @pool.worker(ptr %arg) nounwind {{
entry:
  %seen = alloca i64, align 8
  store i64 -1, ptr %seen
  call i32 @pthread_mutex_lock(ptr @pool.mutex)
  br label %wait
wait:
  %gen = load i64, ptr @pool.generation
  %old = load i64, ptr %seen
  %new = icmp ne i64 %gen, %old
  br i1 %new, label %job, label %sleep
sleep:
  call i32 @pthread_cond_wait(ptr @pool.wake, ptr @pool.mutex)
  br label %wait
job:
  store i64 %gen, ptr %seen
  %task = load ptr, ptr @pool.task
  %ctx = load ptr, ptr @pool.ctx
  %chunks = load i64, ptr @pool.chunks
  call i32 @pthread_mutex_unlock(ptr @pool.mutex)
  call void @pool.drain(ptr %task, ptr %ctx, i64 %chunks, i64 %gen)
  call i32 @pthread_mutex_lock(ptr @pool.mutex)
  br label %wait
}}

define void @"{POOL_RUN}"(ptr %task, ptr %ctx, i64 %chunks, i64 %threads) nounwind {{
entry:
  %tid = alloca i64, align 8
  %all = alloca [{_SIGSET_BYTES} x i8], align 8
  %old = alloca [{_SIGSET_BYTES} x i8], align 8
  %i = alloca i64, align 8
  store i64 0, ptr %i
  %few = icmp ule i64 %threads, 1
  br i1 %few, label %inline, label %acquire
acquire:
  %pid = call i32 @getpid()
  %pair = cmpxchg ptr @pool.owner, i32 0, i32 %pid seq_cst seq_cst
  %got = extractvalue {{ i32, i1 }} %pair, 1
  br i1 %got, label %owned, label %held
held:
  %holder = extractvalue {{ i32, i1 }} %pair, 0
  %ours = icmp eq i32 %holder, %pid
  br i1 %ours, label %inline, label %steal
steal:
  %pair2 = cmpxchg ptr @pool.owner, i32 %holder, i32 %pid seq_cst seq_cst
  %got2 = extractvalue {{ i32, i1 }} %pair2, 1
  br i1 %got2, label %owned, label %inline
owned:
  %poolpid = load i32, ptr @pool.pid
  %moved = icmp ne i32 %poolpid, %pid
  br i1 %moved, label %reset, label %locked
reset:
  call ptr @memset(ptr @pool.mutex, i32 0, i64 64)
  call ptr @memset(ptr @pool.wake, i32 0, i64 64)
  call ptr @memset(ptr @pool.done, i32 0, i64 64)
  store i64 0, ptr @pool.workers
  store i32 %pid, ptr @pool.pid
  br label %locked
locked:
  call i32 @pthread_mutex_lock(ptr @pool.mutex)
  %want = sub i64 %threads, 1
  br label %spawn
spawn:
  %have = load i64, ptr @pool.workers
  %more = icmp ult i64 %have, %want
  br i1 %more, label %create, label %publish
create:
  call i32 @sigfillset(ptr %all)
  call i32 @pthread_sigmask(i32 {_SIG_SETMASK}, ptr %all, ptr %old)
  %rc = call i32 @pthread_create(ptr %tid, ptr null, ptr @pool.worker, ptr null)
  call i32 @pthread_sigmask(i32 {_SIG_SETMASK}, ptr %old, ptr null)
  %failed = icmp ne i32 %rc, 0
  br i1 %failed, label %publish, label %created
created:
  %t = load i64, ptr %tid
  call i32 @pthread_detach(i64 %t)
  %have1 = add i64 %have, 1
  store i64 %have1, ptr @pool.workers
  br label %spawn
publish:
  %g0 = load i64, ptr @pool.generation
  %g1 = add i64 %g0, 1
  %gen = and i64 %g1, 4294967295
  store i64 %gen, ptr @pool.generation
  store ptr %task, ptr @pool.task
  store ptr %ctx, ptr @pool.ctx
  store i64 %chunks, ptr @pool.chunks
  store atomic i64 %chunks, ptr @pool.remaining seq_cst, align 8
  %tag = shl i64 %gen, 32
  store atomic i64 %tag, ptr @pool.claim seq_cst, align 8
  call i32 @pthread_cond_broadcast(ptr @pool.wake)
  call i32 @pthread_mutex_unlock(ptr @pool.mutex)
  call void @pool.drain(ptr %task, ptr %ctx, i64 %chunks, i64 %gen)
  call i32 @pthread_mutex_lock(ptr @pool.mutex)
  br label %join
join:
  %rem = load atomic i64, ptr @pool.remaining seq_cst, align 8
  %finished = icmp eq i64 %rem, 0
  br i1 %finished, label %release, label %park
park:
  call i32 @pthread_cond_wait(ptr @pool.done, ptr @pool.mutex)
  br label %join
release:
  call i32 @pthread_mutex_unlock(ptr @pool.mutex)
  store atomic i32 0, ptr @pool.owner seq_cst, align 4
  ret void
inline:
  %k = load i64, ptr %i
  %todo = icmp ult i64 %k, %chunks
  br i1 %todo, label %step, label %end
step:
  call void %task(ptr %ctx, i64 %k)
  %k1 = add i64 %k, 1
  store i64 %k1, ptr %i
  br label %inline
end:
  ret void
}}
"""

_lock = threading.Lock()
_address: int | None = None


def run_address() -> int:
    """The address of :data:`autotune.abi.POOL_RUN`, linking the pool on first use (once per process; a forked child
    reuses the parent's linked code, which resets its state itself)."""
    global _address
    with _lock:
        if _address is None:
            libc = ctypes.CDLL(None)
            symbols = SymbolMap({name: ctypes.cast(getattr(libc, name), ctypes.c_void_p).value or 0 for name in _LIBC})
            unit = permanent_session().load(_POOL_IR, exports=[POOL_RUN], symbols=symbols)
            _address = unit.address(POOL_RUN)
        return _address


def parallel_values() -> list[int]:
    """The ``parallel`` values a kernel with ``prange`` loops is tuned over by default: 1 (serial, the
    default variant, so the first call costs no thread start and matches the reference exactly), then
    powers of two up to the CPUs this process may run on, and that count itself (``[1, 2]`` on 2 CPUs,
    ``[1, 2, 4, 6]`` on 6). Counts above the CPUs only oversubscribe; the tuner picks among the rest."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    cpus = max(1, min(cpus, 64))
    values = [1]
    while values[-1] * 2 <= cpus:
        values.append(values[-1] * 2)
    if values[-1] != cpus:
        values.append(cpus)
    return values
