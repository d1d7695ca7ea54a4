"""Framed pickles: how a host and its worker processes talk over pipes.

Each message is an 8-byte little-endian length followed by a pickle. Both ends are our own code (the
compile worker, the tuning worker), started with our own command lines, so pickle is safe here.
"""

from __future__ import annotations

import pickle
import struct
from typing import IO, Any

__all__ = ["HEADER", "encode", "read_message", "write_message"]

#: The length prefix of every message.
HEADER = struct.Struct("<Q")


def encode(message: Any) -> bytes:
    """One message as framed bytes."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload


def read_message(stream: IO[bytes]) -> Any:
    """One framed pickle, or raise EOFError."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        raise EOFError
    (size,) = HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError
    return pickle.loads(payload)


def write_message(stream: IO[bytes], message: Any) -> None:
    """Frame and send one pickle."""
    stream.write(encode(message))
    stream.flush()
