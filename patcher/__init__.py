"""patcher: swap native functions under running callers.

A :class:`PatchTable` hands out :class:`Slot` objects; each slot has a trampoline with a stable address and
the exact C signature of the function it forwards to. :meth:`Slot.publish` is one atomic store; replaced
units are freed by the :class:`Reclaimer` only after every call that could be inside them has returned.
"""

from __future__ import annotations

from .errors import DrainTimeout, PatcherError, SignatureError, SlotError
from .reclaimer import Reclaimer
from .signature import CType, Signature
from .slot import Slot
from .table import PatchTable, SlotStats

__all__ = [
    "CType",
    "DrainTimeout",
    "PatchTable",
    "PatcherError",
    "Reclaimer",
    "Signature",
    "SignatureError",
    "Slot",
    "SlotError",
    "SlotStats",
]
