"""What ``kernel.tune()`` shows while it runs: a tqdm bar per key (a widget in Jupyter, text elsewhere).

It shows trials done of the budget (a count and the time when no trial count was given, never a bar drawn
full), the live variant's speed against the default, and at the end why the search stopped, in words.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

__all__ = ["STOP_REASONS", "TuneProgress"]

#: A search's stop reason (``SearchStatus.reason``) as a user reads it.
STOP_REASONS = {
    "exhausted": "every variant of the space was tried",
    "budget": "the study's trial budget (max_trials) is spent",
    "timeout": "the study's time budget (max_seconds) is spent",
    "patience": "no faster variant in the last `patience` trials",
    "error": "the search failed (see the log)",
    "n_trials": "ran the trials asked for",
    "deadline": "tune(timeout=...) ran out",
}


class TuneProgress:
    """One key's progress bar; ``close(reason)`` ends it with the stop reason."""

    def __init__(self, label: str, total: int | None, enabled: bool) -> None:
        self._bar: Any = None
        if not enabled:
            return
        from tqdm import TqdmWarning
        from tqdm.auto import tqdm

        with warnings.catch_warnings():  # Jupyter without ipywidgets: tqdm falls back to text and warns
            warnings.simplefilter("ignore", TqdmWarning)
            self._bar = tqdm(total=total, desc=f"tuning {label}", unit="trial", file=sys.stderr, leave=True)

    def update(self, trials: int, speedup: float) -> None:
        """``trials`` more trials ran; the live variant is ``speedup`` times as fast as the default."""
        if self._bar is not None:
            self._bar.update(trials)
            self._bar.set_postfix_str(f"live {speedup:.2f}x vs default", refresh=True)

    def close(self, reason: str, speedup: float, ran: int) -> None:
        """End the bar with why it stopped (a line of its own when nothing was left to do)."""
        if self._bar is None:
            return
        words = STOP_REASONS.get(reason, reason)
        if ran == 0:
            self._bar.set_postfix_str(f"nothing to do: {words}; live {speedup:.2f}x vs default", refresh=True)
        else:
            self._bar.set_postfix_str(f"live {speedup:.2f}x vs default; stopped: {words}", refresh=True)
        self._bar.close()
