"""Full garbage collections wait for a pause in typing, and the interpreter's settings come back."""

from __future__ import annotations

import gc

from survey_tui.quiet_gc import EVERY_SECONDS, QUIET_SECONDS, QuietCollections


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_full_collections_wait_for_a_pause_and_settings_come_back() -> None:
    before = gc.get_threshold()
    clock = Clock()
    collections = QuietCollections(clock)
    collections.start()
    try:
        assert gc.get_threshold()[:2] == before[:2]
        assert gc.get_threshold()[2] > 1_000_000  # the interpreter no longer starts full collections
        assert gc.get_freeze_count() > 0
        full = gc.get_stats()[2]["collections"]
        clock.now += EVERY_SECONDS + 1
        collections.key_pressed()
        clock.now += QUIET_SECONDS / 2
        assert not collections.collect_if_quiet()  # typing: not now
        clock.now += QUIET_SECONDS
        assert collections.collect_if_quiet()  # a pause: now
        assert gc.get_stats()[2]["collections"] == full + 1
        clock.now += QUIET_SECONDS * 2
        assert not collections.collect_if_quiet()  # the last one was just now
    finally:
        collections.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
