"""The one error hierarchy of circle.

Every failure a person can meet is a :class:`CircleError` with a short title
that names the problem and a hint that says what to do. The CLI prints them as
one line and exits non-zero; the TUI shows them in a notification. Neither
ever shows a traceback, and no error message carries plaintext.
"""

from __future__ import annotations


class CircleError(Exception):
    """A problem a person can act on.

    Args:
        title: what went wrong, in a few words, without plaintext content.
        hint: what to do about it.
    """

    exit_code = 1

    def __init__(self, title: str, hint: str = "") -> None:
        super().__init__(title)
        self.title = title
        self.hint = hint

    def line(self) -> str:
        """The one line shown to a person."""
        return f"{self.title}: {self.hint}" if self.hint else self.title


class UsageError(CircleError):
    """The person asked for something that does not make sense."""

    exit_code = 2


class WrongPassphrase(CircleError):
    """The passphrase does not open the keystore."""


class NotFound(CircleError):
    """A home, identity, cohort or file that should exist does not."""


class Ambiguous(NotFound):
    """What a person typed names several things: the hint lists them."""


class AlreadyExists(CircleError):
    """Refusing to overwrite something that exists."""


class CorruptFile(CircleError):
    """A file on disk is truncated, damaged or not a circle file."""


class StorageError(CircleError):
    """The disk said no: it is full, read-only, or circle may not write there. Nothing is damaged."""


class FutureVersion(CircleError):
    """A file was written by a newer circle."""


class InvalidEnvelope(CircleError):
    """An envelope failed a check: format, signature, chain or decryption.

    Crypto has one exception for every failure, so a caller cannot learn
    which check failed from the type; ``reason`` names it for reports.
    """

    def __init__(self, reason: str) -> None:
        super().__init__("invalid event", reason)
        self.reason = reason


class SyncError(CircleError):
    """A replica or the litestream process could not do what was asked.

    Args:
        title: what went wrong, in a few words.
        hint: what to do about it.
        detail: litestream's own words, for logs and ``circle doctor``; never
            shown in the one line, never with a credential.
    """

    def __init__(self, title: str, hint: str = "", detail: str = "") -> None:
        super().__init__(title, hint)
        self.detail = detail


class ReplicaOffline(SyncError):
    """The replica cannot be reached now: no network, no answer, a host that is down.

    A normal state: circle keeps what is unsent and tries again; callers
    report it and go on (``circle sync --once`` exits 0).
    """


class ReplicaMisconfigured(SyncError):
    """The replica location's settings are wrong: credentials, bucket, host, port, scheme, host key.

    Trying again will not help; the person must change the location
    (``circle cohort replica``), so callers exit non-zero. A refused
    connection counts here (nothing listens at that port), though a box
    switched off at a known address also refuses.
    """


class ReplicaBroken(SyncError):
    """The replica holds files but no restorable chain: the writer must heal it."""
