"""Messages the app's screens and workers post: small dataclasses named as facts or requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class Unlocked(Message):
    """A keystore opened; the session is ready (``recovery``: a new identity's recovery code, to show once)."""

    session: Any
    recovery: str = ""


@dataclass
class UnlockFailed(Message):
    """The keystore did not open (a calm title and a hint, never the passphrase)."""

    title: str
    hint: str


@dataclass
class ViewChanged(Message):
    """New events were folded into a cohort's view (written here or received from peers)."""

    cohort: str
    count: int


@dataclass
class CohortOpenRequested(Message):
    """A screen asks the app to open a cohort's screen."""

    cohort: str


@dataclass
class MeetingOpenRequested(Message):
    """A screen asks the app to open a meeting's room."""

    cohort: str
    meeting: str


@dataclass
class PrivateOpenRequested(Message):
    """A screen asks the app to open a cohort's private channels (``peer`` "" : your own notes)."""

    cohort: str
    peer: str = ""


@dataclass
class TimeUp(Message):
    """The current agenda item's timebox ran out."""

    meeting: str
    item: str


@dataclass
class CohortOpened(Message):
    """A cohort finished opening in the background: its snapshot and newer events are folded."""

    session: Any
    cohort: str
    service: Any  # the CohortService


@dataclass
class CohortOpening(Message):
    """How far a cohort opening without a snapshot got: events opened, of how many (0: not known)."""

    session: Any
    cohort: str
    opened: int
    total: int


@dataclass
class CohortOpenFailed(Message):
    """A cohort could not be opened (a calm title and a hint)."""

    session: Any
    cohort: str
    title: str
    hint: str


@dataclass
class CohortsOpened(Message):
    """Every cohort of the session has been opened (or has failed to)."""

    session: Any


@dataclass
class ViewRead(Message):
    """What a screen read from the folded view off the UI thread, ready to show."""

    read: Any


@dataclass
class AgreementOpenRequested(Message):
    """A screen asks the app to open a cohort's charter agreement."""

    cohort: str


@dataclass
class CreditsOpenRequested(Message):
    """A screen asks the app to open a cohort's credit ledger."""

    cohort: str


@dataclass
class GoalsOpenRequested(Message):
    """A screen asks the app to open a cohort's goals."""

    cohort: str
