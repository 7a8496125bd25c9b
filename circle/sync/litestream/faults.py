"""Litestream's failures turned into errors a person can act on.

Litestream ends with one ``Error: ...`` line on stderr, or logs ``level=ERROR``
lines while it runs; :func:`_error_line` picks the line that says what went
wrong and :func:`_sync_error` names the kind of failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from circle.errors import SyncError


class ReplicaBroken(SyncError):
    """The replica holds files but no restorable chain: the writer must heal it."""


def _error_line(text: str, hide: Iterable[str] = ()) -> str:
    """The one line of litestream output that says what went wrong."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    chosen = ""
    for ln in reversed(lines):
        if ln.startswith("Error: "):
            chosen = ln[len("Error: ") :]
            break
    if not chosen:
        for ln in reversed(lines):
            if "level=ERROR" in ln or "level=WARN" in ln:
                m = re.search(r'(?:err|error)="((?:[^"\\]|\\.)*)"', ln)
                msg = re.search(r'msg="((?:[^"\\]|\\.)*)"|msg=(\S+)', ln)
                chosen = m.group(1) if m else (msg.group(1) or msg.group(2) if msg else ln)
                break
    if not chosen and lines:
        chosen = lines[-1]
    for s in hide:
        chosen = chosen.replace(s, "***")
    return chosen[:300]


_EMPTY = "no matching backup files available"
_GAP = "non-contiguous ltx files"
_AHEAD = "is ahead of latest snapshot"


def _sync_error(action: str, detail: str) -> SyncError:
    """A SyncError with a title for the kind of failure and litestream's line in the hint."""
    low = detail.lower()
    if "host key mismatch" in low:
        title, hint = (
            "SFTP host key does not match",
            "the server is not the one configured, or its key changed: check with its owner before changing the host key",
        )
    elif any(s in low for s in ("unable to authenticate", "signaturedoesnotmatch", "invalidaccesskeyid", "accessdenied", "permission denied")):
        title, hint = "the replica refused the credentials", "check the key, password or access keys of the replica location"
    elif "nosuchbucket" in low:
        title, hint = "the bucket does not exist", "create it or fix the s3:// location"
    elif any(s in low for s in ("x509", "certificate")):
        title, hint = "the replica's TLS certificate is not trusted", "set the CA bundle of the location if it uses a private CA"
    elif any(
        s in low
        for s in (
            "connection refused",
            "no such host",
            "i/o timeout",
            "network is unreachable",
            "exceeded maximum number of attempts",
            "connection lost",
            "timed out",
            "no route to host",
        )
    ):
        title, hint = "the replica is unreachable", "check the network and that the replica host is up; circle retries on its own"
    else:
        title, hint = f"litestream could not {action}", "check the replica location; run `circle sync doctor` for details"
    return SyncError(title, f"{hint} (litestream: {detail})" if detail else hint)
