"""Litestream's failures turned into errors that name the cause and say what to do.

Litestream ends with one ``Error: ...`` line on stderr, or logs ``level=ERROR``
lines while it runs. :func:`classify` reads the whole text (never a cut-down
line) and returns a :class:`ReplicaMisconfigured` for wrong settings, a
:class:`ReplicaOffline` for a replica out of reach, or a plain
:class:`SyncError`. Each says what is wrong and what to do in one line under
:data:`MAX_LINE` characters, and names hosts, ports and buckets but never a
credential; litestream's own line is kept in ``detail``.

Some faults Litestream retries for about two minutes before it says anything
(a refused connection, https on an http port, an untrusted certificate); for
those, :mod:`.probe` looks at the endpoint itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from circle.errors import ReplicaBroken, ReplicaMisconfigured, ReplicaOffline, SyncError
from circle.sync.litestream.replica import Replica, _with_scheme

__all__ = ["MAX_LINE", "ReplicaBroken", "ReplicaMisconfigured", "ReplicaOffline", "ReplicaRefused", "classify", "endpoint_of", "fit"]

MAX_LINE = 151  # characters of an error's line: with the CLI's "circle: " in front, under 160
RETRIES = "circle tries again on its own"


class ReplicaRefused(ReplicaMisconfigured):
    """Nothing listens at the location's address (connection refused): a wrong port, or a server switched off.

    As a location is set it is a wrong setting. At a location this device has
    reached before it is a box switched off or a store restarting, and the
    sync service and ``circle sync --once`` report it as offline.
    """


_EMPTY = "no matching backup files available"
_GAP = "non-contiguous ltx files"
_AHEAD = "is ahead of latest snapshot"
_NO_HOST = re.compile(r"lookup ([^\s:]+)(?: on [^\s]+)?: no such host")
_OFFLINE = (
    "i/o timeout",
    "network is unreachable",
    "no route to host",
    "host is down",
    "timed out",
    "timeout awaiting",
    "tls handshake timeout",
    "temporary failure in name resolution",
    "server misbehaving",
    "connection reset",
    "broken pipe",
    "connection lost",
    "serviceunavailable",
    "slowdown",
    "internalerror",
    "exceeded maximum number of attempts",
)


def _error_line(text: str, hide: Iterable[str] = ()) -> str:
    """The one line of litestream output that says what went wrong (for logs; at most 300 characters)."""
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
    return _hide(chosen, hide)[:300]


def _hide(text: str, hide: Iterable[str]) -> str:
    for s in sorted(hide, key=len, reverse=True):
        text = text.replace(s, "***")
    return text


def fit(title: str, hint: str) -> tuple[str, str]:
    """``title`` and ``hint`` shortened so that ``title: hint`` stays one line under :data:`MAX_LINE` characters."""
    title, hint = " ".join(title.split()), " ".join(hint.split())
    room = MAX_LINE - len(title) - 2
    if len(hint) > room:
        hint = hint[: max(0, room - 1)].rstrip() + "…"
    return title, hint


def _error(cls: type[SyncError], title: str, hint: str, detail: str) -> SyncError:
    title, hint = fit(title, hint)
    return cls(title, hint, detail)


def endpoint_of(replica: Replica) -> tuple[str, str, int]:
    """(scheme, host, port) that Litestream connects to for a remote replica; the scheme is ``ssh`` for SFTP."""
    parts = urlsplit(replica.url)
    if replica.kind == "sftp":
        return "ssh", parts.hostname or "", parts.port or 22
    if replica.endpoint:
        e = urlsplit(_with_scheme(replica.endpoint))
        return e.scheme, e.hostname or "", e.port or (443 if e.scheme == "https" else 80)
    return "https", f"s3.{replica.region}.amazonaws.com" if replica.region else "s3.amazonaws.com", 443


def where(replica: Replica) -> str:
    """The replica's address for people: host and port, never credentials."""
    if replica.kind == "file":
        return replica.url
    _, host, port = endpoint_of(replica)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def classify(action: str, text: str, replica: Replica | None) -> SyncError:
    """The error for litestream's output ``text`` after it failed to ``action`` (e.g. "list the replica").

    ``text`` is the whole of what litestream wrote to stderr: the cause is
    often at the end of a long line.
    """
    hide = replica._secrets() if replica is not None else ()
    detail = _error_line(text, hide)
    low = _hide(text, hide).lower()
    at = where(replica) if replica is not None else "the replica"
    kind = replica.kind if replica is not None else ""
    bucket = urlsplit(replica.url).netloc if replica is not None and kind == "s3" else ""
    _, host, _ = endpoint_of(replica) if replica is not None and kind != "file" else ("", "", 0)
    named_bucket = bool(bucket) and host.startswith(bucket + ".")

    def mis(title: str, hint: str) -> SyncError:
        return _error(ReplicaMisconfigured, title, hint, detail)

    def offline(title: str, hint: str) -> SyncError:
        return _error(ReplicaOffline, title, hint, detail)

    if "host key mismatch" in low:
        return mis(
            "SFTP host key does not match", "the server is not the one configured, or its key changed: check with its owner before changing the host key"
        )
    if "unable to authenticate" in low:
        return mis("the SFTP server refused the login", f"{at} did not accept the user and key or password: check them in the location")
    if "cannot read sftp key path" in low:
        return mis("the SFTP key file cannot be read", "check the location's key path; it must be an unencrypted private key")
    if "ssh: no key found" in low or "cannot decode encrypted private keys" in low or "passphrase protected" in low:
        return mis("the SFTP key file is not usable", "Litestream needs an unencrypted OpenSSH private key")
    if "signaturedoesnotmatch" in low:
        return mis("the S3 secret key is wrong", f"{at} refused the request signature: check the location's secret access key")
    if "invalidaccesskeyid" in low:
        return mis("the S3 access key id is unknown", f"{at} does not know that key: check the location's access key id")
    if "nosuchbucket" in low or "the specified bucket does not exist" in low:
        if named_bucket:
            return mis("the S3 endpoint names the bucket", f"{host} starts with bucket {bucket}: give the store's address without it")
        return mis(f"bucket {bucket or '?'} does not exist", f"create it at {at}, or fix the bucket in the s3:// location")
    if "get credentials" in low or "no ec2 imds role" in low or "failed to refresh cached credentials" in low:
        return mis("the S3 location has no access key", "give the location's access key id and secret access key")
    if "accessdenied" in low or "access denied" in low or "statuscode: 403" in low:
        return mis("the S3 store refused access", f"the key may not use bucket {bucket or '?'} at {at}: check its permissions")
    if m := _NO_HOST.search(low):
        name = m.group(1).rstrip(".")
        if bucket and name == f"{bucket}.{host}".lower():
            return mis("virtual-host S3 addressing fails", f"{name} is not found: this store needs path-style addressing")
        if named_bucket:
            return mis("the S3 endpoint names the bucket", f"{host} is not found: give the store's address without the bucket")
        return mis(f"unknown host {name}", "check the host name of the replica location")
    if "server gave http response to https client" in low:
        if replica is not None and replica.endpoint and "://" not in replica.endpoint:
            return mis("the S3 endpoint has no http:// or https://", f"https is assumed, but {at} speaks http: write it as http://{at}")
        return mis("https endpoint on an http port", f"{at} speaks http: write the endpoint as http://{at}, or use the store's https port")
    if "http request to an https server" in low:
        return mis("http endpoint on an https port", f"{at} speaks https: write the endpoint as https://{at}")
    if "x509" in low or "certificate" in low:
        return mis("the store's TLS certificate is not trusted", "if the store uses a private CA, set the location's CA bundle")
    if "connection refused" in low:
        return _error(
            ReplicaRefused,
            "the replica is unreachable",
            f"nothing listens at {at} (connection refused): check the port, or start the server",
            detail,
        )
    if "read-only file system" in low:
        return mis("the replica folder is read-only", f"{at}: choose a writable folder")
    if "permission denied" in low:
        return mis("the replica location is not writable", f"{at}: check its permissions for this user")
    if "no space left" in low:
        return _error(SyncError, "the replica is full", f"{at} has no room left: free some space there", detail)
    if any(s in low for s in _OFFLINE) or re.search(r"statuscode: 5\d\d", low):
        return offline("the replica is unreachable", f"no answer from {at}: check the network; {RETRIES}")
    return _error(SyncError, f"litestream could not {action}", detail or "it gave no reason; run `circle doctor`", detail)


def no_answer(replica: Replica | None, seconds: float) -> ReplicaOffline:
    """The error for a replica that did not answer within ``seconds``."""
    at = where(replica) if replica is not None else "the replica"
    title, hint = fit("the replica did not answer", f"no answer from {at} within {seconds:.0f} s: check the network; {RETRIES}")
    return ReplicaOffline(title, hint)
