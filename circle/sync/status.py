"""What the sync service reports: shown in the TUI's sync badge and by `circle sync`."""

from __future__ import annotations

from dataclasses import dataclass, field


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

    def badge(self) -> str:
        """A short text for a status bar."""
        if self.state == "off":
            return "sync off"
        if self.unsent:
            return f"{self.state} · {self.unsent} not yet sent"
        return self.state

    def line(self) -> str:
        """One line for `circle sync`: the badge, then per cohort what is unsent and each member's newest event.

        Staleness is shown in whole minutes only, so the line does not change every second.
        """
        parts = [self.badge()]
        for co in self.cohorts:
            peers = ", ".join(f"{p.member} #{p.last_seq}" for p in co.peers) or "no peers yet"
            behind = f"; {co.caught_up()}" if co.peers and (co.lag_s is None or co.lag_s >= 60) else ""
            parts.append(f"{co.name or co.cohort[:8]}: {co.unsent} unsent; {peers}{behind}")
        return " | ".join(parts)


def ago(seconds: float) -> str:
    """A duration in the largest whole unit: "4 s", "12 min", "3 h", "2 days"."""
    s = max(0, int(seconds))
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            n = s // size
            return f"{n} {'day' if unit == 'days' and n == 1 else unit}"
    return f"{s} s"
