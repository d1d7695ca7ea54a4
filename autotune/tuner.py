"""Placeholder until the background tuner lands: kernels register here when decorated."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .kernel import Kernel

__all__ = ["attach"]


def attach(kernel: Kernel) -> None:
    """Register ``kernel`` with the background tuner (no-op until the tuner exists)."""
