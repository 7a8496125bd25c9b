"""A lock held by another thread, as the sync service's ingest holds a cohort's store lock while it folds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def held_elsewhere(lock: Any, at_most: float = 30.0) -> Iterator[None]:
    """``lock`` held by another thread from before the block starts until it ends (or ``at_most`` seconds)."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            release.wait(at_most)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10), "the other thread never took the lock"
    try:
        yield
    finally:
        release.set()
        holder.join()
