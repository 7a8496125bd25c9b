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
    state: str = "waiting"  # waiting, following, caught up, missing, problem


@dataclass(frozen=True)
class CohortSync:
    cohort: str
    name: str
    replica: str  # where it replicates, credentials never included
    unsent: int = 0  # own events not yet on the replica
    lag_s: float | None = None
    peers: tuple[PeerStatus, ...] = ()
    problem: str = ""


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
