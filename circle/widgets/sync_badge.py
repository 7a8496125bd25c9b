"""The sync badge: the sync service's one-line state, as the app publishes it; and the full sync report."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.signal import Signal
from textual.widgets import Static

from circle.models.text import clean
from circle.sync.status import SyncStatus, clock
from circle.widgets.member_text import name


class SyncBadge(Static):
    """Shows ``status.badge()``, or "sync off" while ``status`` is None.

    The badge reads nothing itself: the app reads the sync service once a
    second and publishes the status when it changes; each badge subscribes.

    Args:
        updates: the signal the status is published on (the app's ``sync_status_signal``).
        status: the status to show until the next one is published.
    """

    DEFAULT_CSS = """
    SyncBadge { width: auto; padding: 0 1; color: $text-muted; }
    SyncBadge.-problem { color: $error; }
    SyncBadge.-busy { color: $warning; }
    SyncBadge.-ok { color: $success; }
    """

    status: reactive[SyncStatus | None] = reactive(None, init=False)

    def __init__(self, updates: Signal[SyncStatus | None] | None = None, status: SyncStatus | None = None, **kwargs: Any) -> None:
        super().__init__("⇅ sync off", **kwargs)
        self._updates = updates
        self._first = status
        self._shown = "sync off"

    def on_mount(self) -> None:
        if self._updates is not None:
            self._updates.subscribe(self, self._take)
        self.status = self._first

    def _take(self, status: SyncStatus | None) -> None:
        self.status = status

    def watch_status(self, status: SyncStatus | None) -> None:
        state, text = ("off", "sync off") if status is None else (status.state, status.badge())
        self.set_class(state in ("problem", "offline"), "-problem")
        self.set_class(state == "syncing", "-busy")
        self.set_class(state == "up to date", "-ok")
        if text != self._shown:  # update() lays the whole screen out again: only when the words change
            self._shown = text
            self.update(Text(f"⇅ {clean(text)}"))


def sync_report(status: SyncStatus | None) -> str:
    """Per cohort: where it replicates, whether it is there, what is not sent yet, and each member's journal (names cleaned, never markup).

    A location out of reach or set wrong is told in the same words as `circle sync --once` (see :meth:`CohortSync.reach_line`).
    """
    if status is None:
        return "Sync is off."
    lines = [f"State: {status.state}" + (f" — {clean(status.message)}" if status.message else "")]
    for co in status.cohorts:
        lines += ["", f"{name(co.name) or 'A cohort you asked to join'} → {clean(co.replica)}"]
        if co.reach != "ok":
            lines.append(f"  {clean(co.reach_line())}")
        change = f"last change received {clock(co.last_change)}" if co.last_change else "no change received since sync started"
        lines.append(f"  not yet sent: {co.unsent}; {co.caught_up()}; {change}")
        if co.problem and co.reach == "ok":  # offline or set wrong: the line above says it
            lines.append(f"  problem: {clean(co.problem)}")
        for p in co.peers:
            when = f"last received {time.strftime('%H:%M:%S', time.localtime(p.last_received))}" if p.last_received else "nothing received yet"
            lines.append(f"  {name(p.member)}: {p.state}, {p.last_seq} events, {when}")
    return "\n".join(lines)
