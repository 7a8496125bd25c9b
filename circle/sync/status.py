"""What the sync service reports: shown in the TUI's sync badge and by `circle sync`.

A replica location out of reach is told in one line made by
:func:`offline_line`, the same in the app (badge and sync report) and in the
CLI (`circle sync`, `circle sync --once`): since when, what keeps it away,
and what waits to be sent. A location whose settings are wrong is told by
its error's own line (see :class:`~circle.errors.ReplicaMisconfigured`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

LINE = 159  # characters: a line a person reads, under 160


@dataclass(frozen=True)
class PeerStatus:
    """One followed journal of a cohort member."""

    member: str  # display name
    journal: str  # journal id (hex)
    last_seq: int = 0  # newest event received
    last_received: float = 0.0  # when (local clock), 0 if never
    state: str = "waiting"  # waiting, following, caught up, missing, unreachable, problem
    checked: float = 0.0  # when the replica's copy was last read and found held here (local clock), 0 if never


@dataclass(frozen=True)
class CohortSync:
    cohort: str
    name: str
    replica: str  # where it replicates, credentials never included
    unsent: int = 0  # own events not yet on the replica
    lag_s: float | None = None  # at most this many seconds behind the replica: since every peer journal was last checked; None before
    peers: tuple[PeerStatus, ...] = ()
    problem: str = ""
    reach: str = "ok"  # ok; offline (out of reach: a normal state); wrong (its settings must change: ``problem`` says how)
    since: float = 0.0  # when this device last reached the location (local clock), 0 if never
    why: str = ""  # while offline: what keeps the location away, in a few words
    last_change: float = 0.0  # when the last change from another member came in (local clock), 0 if none since sync started

    def reach_line(self, now: float | None = None) -> str:
        """The one line about the location when it is offline or set wrong, else "" (the words of `circle sync --once`)."""
        if self.reach == "offline":
            return offline_line(self.replica, self.why, self.since, self.unsent, now)
        return self.problem if self.reach == "wrong" else ""

    def caught_up(self) -> str:
        """How stale this device's copy may be, for people: "caught up with the replica 2 s ago"."""
        if not self.peers:
            return "no other members' journals to follow yet"
        if self.lag_s is None:
            return "not in touch with the replica yet"
        return f"caught up with the replica {ago(self.lag_s)} ago"


@dataclass(frozen=True)
class SyncStatus:
    """The whole sync state. ``state`` is one of: off, offline, syncing, up to date, problem."""

    state: str = "off"
    message: str = ""
    cohorts: tuple[CohortSync, ...] = field(default_factory=tuple)

    @property
    def unsent(self) -> int:
        return sum(c.unsent for c in self.cohorts)

    def badge(self, now: float | None = None) -> str:
        """A short text for a status bar: "offline since 14:02 · 3 not yet sent"."""
        if self.state == "off":
            return "sync off"
        state = self.state
        away = [c.since for c in self.cohorts if c.reach == "offline"]
        if state == "offline" and away and all(away):
            state = f"offline since {clock(min(away), now)}"
        if self.unsent:
            if state == "up to date":  # up to date with what others sent; ours is on its way
                state = "sending"
            return f"{state} · {self.unsent} not yet sent"
        return state

    def line(self) -> str:
        """One line for `circle sync`: the badge, then per cohort what is unsent and each member's newest event.

        Staleness is shown in whole minutes only, so the line does not change every second.
        """
        parts = [self.badge()]
        for co in self.cohorts:
            peers = ", ".join(f"{p.member} #{p.last_seq}" for p in co.peers) or "no peers yet"
            behind = f"; {co.caught_up()}" if co.peers and (co.lag_s is None or co.lag_s >= 60) else ""
            change = f"; last change {clock(co.last_change)}" if co.last_change else ""
            parts.append(f"{co.name or co.cohort[:8]}: {co.reach_line() or f'{co.unsent} unsent'}; {peers}{behind}{change}")
        return " | ".join(parts)


def offline_line(where: str, why: str, since: float, unsent: int, now: float | None = None) -> str:
    """The one line for a replica location out of reach, in the app and the CLI alike (under 160 characters).

    "offline since 14:02: s3://circle/north at http://192.0.2.20:8333: the replica did not answer;
    3 events not yet sent, kept until it is back"

    Args:
        where: the location, for people (no credentials); shortened in the middle to fit.
        why: what keeps it away, in a few words (an error's title).
        since: when this device last reached it (0: never).
        unsent: own events waiting for it.
    """
    head = f"offline since {clock(since, now)}" if since else "offline, never reached from here"
    tail = f"{why or 'out of reach'}; " + (
        f"{unsent} event{'s' if unsent != 1 else ''} not yet sent, kept until it is back" if unsent else "nothing waiting to be sent"
    )
    return f"{head}: {_middle(where, LINE - len(head) - len(tail) - 4)}: {tail}"


def clock(when: float, now: float | None = None) -> str:
    """A moment for people: "14:02" today, "2026-03-01 14:02" on another day (local time)."""
    at, today = time.localtime(when), time.localtime(time.time() if now is None else now)
    return time.strftime("%H:%M" if at[:3] == today[:3] else "%Y-%m-%d %H:%M", at)


def _middle(text: str, width: int) -> str:
    """``text`` cut in the middle to at most ``width`` characters (an ellipsis marks the cut)."""
    if len(text) <= width:
        return text
    keep = max(0, width - 1)
    return text[: keep - keep // 2] + "…" + text[len(text) - keep // 2 :] if keep else "…"


def ago(seconds: float) -> str:
    """A duration in the largest whole unit: "4 s", "12 min", "3 h", "2 days"."""
    s = max(0, int(seconds))
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            n = s // size
            return f"{n} {'day' if unit == 'days' and n == 1 else unit}"
    return f"{s} s"
