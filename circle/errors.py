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


class AlreadyExists(CircleError):
    """Refusing to overwrite something that exists."""


class CorruptFile(CircleError):
    """A file on disk is truncated, damaged or not a circle file."""


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
    """A replica or the litestream process could not do what was asked."""
