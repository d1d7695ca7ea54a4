"""The compile worker process: ``python -m dylibs._worker`` (see :class:`dylibs.CompilerPool`).

Protocol on stdin/stdout: framed pickles (:mod:`dylibs.framing`). A request
is ``(ir, options)``; a reply is ``("ok", object_bytes)`` or ``("error", CompileError)``. The worker exits
at end of input. It never imports the host program's ``__main__`` (unlike multiprocessing's spawn).
"""

from __future__ import annotations

import os
import sys

from dylibs.framing import read_message, write_message


def main() -> None:
    from dylibs.compiler import compile_ir
    from dylibs.errors import CompileError

    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but replies may reach the pipe
    while True:
        try:
            ir, options = read_message(requests)
        except EOFError:
            return
        try:
            write_message(replies, ("ok", compile_ir(ir, options)))
        except CompileError as exc:
            write_message(replies, ("error", exc))
        except Exception as exc:  # anything else still becomes an answer, not a dead worker
            write_message(replies, ("error", CompileError(f"compiler failed: {type(exc).__name__}", str(exc))))


if __name__ == "__main__":
    if len(sys.argv) > 1:  # niceness: compiles must not take the CPU from the host's application
        os.nice(int(sys.argv[1]))
    main()
