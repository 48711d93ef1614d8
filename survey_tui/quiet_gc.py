"""Garbage collection at quiet moments, so that a full collection never lands on an agent's key press."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

# Full collections wait for this long a pause in typing, and are made at most this often
# (between calls they are made at once: `collect`).
QUIET_SECONDS = 1.5
EVERY_SECONDS = 20.0
# A threshold no count reaches: the interpreter then leaves full collections to us.
_NEVER = 1 << 30


class QuietCollections:
    """Leaves young collections to the interpreter and makes the full ones when the agent pauses.

    A full collection scans every object the app holds: measured over 1,000 answers it took
    50-300 ms, and came in the middle of about one key press in ten. The objects made while
    starting (modules, the store, the questionnaires) are moved out of the collector's sight
    once, so a full collection later scans only what the app has made since (a few ms).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._saved: tuple[int, int, int] | None = None
        self.last_key = self.last_collection = self._clock()

    def start(self) -> None:
        if self._saved is not None:
            return
        self._saved = gc.get_threshold()
        gc.collect()
        gc.freeze()
        young, middle, _old = self._saved
        gc.set_threshold(young, middle, _NEVER)

    def stop(self) -> None:
        if self._saved is None:
            return
        gc.set_threshold(*self._saved)
        self._saved = None
        gc.unfreeze()

    def key_pressed(self) -> None:
        self.last_key = self._clock()

    def collect(self) -> None:
        """A full collection now (a moment when nobody waits on the screen)."""
        gc.collect()
        self.last_collection = self._clock()

    def collect_if_quiet(self) -> bool:
        """A full collection if the agent has paused and the last one is a while ago."""
        now = self._clock()
        if now - self.last_key < QUIET_SECONDS or now - self.last_collection < EVERY_SECONDS:
            return False
        self.collect()
        return True
