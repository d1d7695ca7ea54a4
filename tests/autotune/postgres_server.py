"""A throwaway PostgreSQL server on loopback for the fleet tests (initdb + pg_ctl, stopped afterwards)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["postgres_server", "server_binaries"]


def server_binaries() -> str | None:
    """The directory holding initdb and pg_ctl, or None."""
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(directory, "initdb")):
            return directory
    found = shutil.which("initdb")
    return os.path.dirname(found) if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def postgres_server(binaries: str) -> Iterator[str]:
    """Start a server; yield a SQLAlchemy URL for its ``postgres`` database; stop and delete it after."""
    root = tempfile.mkdtemp(prefix="autotune-pg-")
    data = os.path.join(root, "data")
    prefix: list[str] = []
    if os.getuid() == 0:  # initdb refuses to run as root: run the server as the postgres user
        shutil.chown(root, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    run = lambda *cmd: subprocess.run(  # noqa: E731
        [*prefix, *cmd], check=True, capture_output=True, text=True, timeout=120
    )
    try:
        run(os.path.join(binaries, "initdb"), "-D", data, "-U", "autotune", "--auth=trust", "-E", "UTF8")
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(os.path.join(binaries, "pg_ctl"), "-D", data, "-o", options, "-w", "-l", os.path.join(root, "log"), "start")
        try:
            yield f"postgresql+psycopg2://autotune@127.0.0.1:{port}/postgres"
        finally:
            run(os.path.join(binaries, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
