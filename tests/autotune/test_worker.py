"""The worker process handle: deaths come back as reasons, and the next request starts a fresh process."""

from __future__ import annotations

import os
import signal

import pytest

from autotune.worker import Worker, WorkerDied


def test_a_worker_that_fails_says_why_and_the_next_request_starts_another() -> None:
    worker = Worker()
    try:
        with pytest.raises(WorkerDied, match=r"exited with status 1: AttributeError: 'str' object has no attr"):
            worker.request("not a step", lambda notice: None)  # type: ignore[arg-type]
        assert worker.start() == 2  # replaced on the next use
    finally:
        worker.close()
        worker.close()


def test_a_worker_killed_while_idle_is_replaced_without_a_failure() -> None:
    from autotune.messages import Step

    worker = Worker()
    worker.start()
    process = worker._process
    assert process is not None
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    try:
        reply = worker.request(Step(1), lambda notice: None)  # a search it does not know: answered at once
        assert "not open in this worker" in reply.error and worker.generation == 2
    finally:
        worker.close()
