"""A replica location (a folder, an SFTP box, an S3-compatible bucket) and the one place that checks it.

A :class:`Replica` that exists is a usable location: its constructor refuses
anything Litestream could not use, with a :class:`UsageError` that says what
to give instead. It turns itself into the ``replica`` section of a
Litestream config.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from circle.errors import UsageError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_HOST_KEY = re.compile(r"(ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]+ [A-Za-z0-9+/]+=*( .*)?")
# Names of the variables that carry credentials to a child. Keyed per process, so
# a config left behind says nothing about the credential a name stood for.
_NAMING_KEY = secrets.token_bytes(16)
CREDENTIAL_PREFIX = "CIRCLE_LS_CRED_"


def credential_var(value: str) -> str:
    """The environment variable that carries the credential ``value`` to litestream children of this process."""
    return CREDENTIAL_PREFIX + hmac.new(_NAMING_KEY, value.encode(), hashlib.sha256).hexdigest()[:20].upper()


def _reference(value: str) -> str:
    return "${" + credential_var(value) + "}"


@dataclass(frozen=True)
class Replica:
    """One replica location for one SQLite database.

    Args:
        url: a folder path or ``file://`` URL, ``sftp://user@host[:port]/abs/path``
            or ``s3://bucket/path``.
        endpoint: S3-compatible endpoint URL; needed for anything but AWS.
        region: S3 region.
        access_key_id: S3 access key.
        secret_access_key: S3 secret key.
        force_path_style: S3 path-style addressing (needed by most non-AWS stores).
        key_path: SFTP private key file (unencrypted: Litestream cannot ask for
            a passphrase).
        host_key: SFTP server key as ``ssh-ed25519 AAAA...``; required.
        password: SFTP password, instead of or besides ``key_path``.
        ca_bundle: PEM file of CAs to trust for TLS, only if the person set one.
    """

    url: str
    endpoint: str | None = None
    region: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    force_path_style: bool = True
    key_path: str | None = None
    host_key: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme == "sftp" and parts.password is not None:
            # Keep the password out of the URL, and so out of reprs and logs.
            netloc = parts.netloc.rsplit("@", 1)[1]
            object.__setattr__(self, "password", self.password or unquote(parts.password))
            object.__setattr__(self, "url", urlunsplit(parts._replace(netloc=f"{parts.username}@{netloc}")))
        self.config()  # validates

    @property
    def kind(self) -> str:
        """``file``, ``sftp`` or ``s3``."""
        scheme = urlsplit(self.url).scheme
        return "file" if scheme in ("", "file") or len(scheme) == 1 else scheme  # "C:\\x" on Windows

    def child(self, name: str) -> Replica:
        """The same location, one level down at ``name`` (a random journal path)."""
        if not _NAME.fullmatch(name) or name in (".", ".."):
            raise UsageError("invalid replica path", "use letters, digits, dot, dash or underscore")
        if self.kind == "file" and not self.url.startswith("file:"):
            url = os.path.join(self.url, name)
        else:
            url = self.url.rstrip("/") + "/" + name
        return dataclasses.replace(self, url=url)

    def config(self) -> dict[str, Any]:
        """The ``replica`` section of a Litestream config for this location.

        Credentials appear only as ``${NAME}`` references to the environment
        of :meth:`credential_env`.

        Raises:
            UsageError: the URL or its options do not describe a usable location.
        """
        parts = urlsplit(self.url)
        if parts.query or parts.fragment:
            raise UsageError("replica URL must not have ? or #", "put options in their own fields")
        kind = self.kind
        if kind == "file":
            raw = unquote(parts.path) if parts.scheme == "file" else self.url
            if not raw:
                raise UsageError("no replica folder", "give a folder path")
            return {"type": "file", "path": os.path.abspath(os.path.expanduser(raw))}
        if kind == "sftp":
            return self._sftp(parts)
        if kind == "s3":
            return self._s3(parts)
        raise UsageError(f"unknown replica kind {kind!r}", "use a folder path, sftp://user@host/path or s3://bucket/path")

    def _sftp(self, parts: SplitResult) -> dict[str, Any]:
        example = "for example sftp://circle@192.0.2.10/srv/circle"
        try:
            port = parts.port
        except ValueError:
            raise UsageError("SFTP location has an invalid port", example) from None
        if not parts.hostname or not parts.username:
            raise UsageError("SFTP location needs a user and host", example)
        path = unquote(parts.path)
        if not path.startswith("/") or path == "/":
            raise UsageError("SFTP location needs an absolute folder", example)
        if not self.host_key or not _HOST_KEY.fullmatch(self.host_key.strip()):
            raise UsageError("SFTP location needs the server's host key", "give it as 'ssh-ed25519 AAAA...' (from ssh-keyscan, checked with the box's owner)")
        if not self.key_path and not self.password:
            raise UsageError("SFTP location needs a key or password", "give a private key file, for example ~/.ssh/id_ed25519")
        host = parts.hostname
        out: dict[str, Any] = {
            "type": "sftp",
            "host": f"{f'[{host}]' if ':' in host else host}:{port or 22}",
            "user": unquote(parts.username),
            "path": path,
            "host-key": self.host_key.strip(),
        }
        if self.key_path:
            out["key-path"] = os.path.abspath(os.path.expanduser(self.key_path))
        if self.password:
            out["password"] = _reference(self.password)
        return out

    def _s3(self, parts: SplitResult) -> dict[str, Any]:
        if not parts.netloc or "@" in parts.netloc or ":" in parts.netloc:
            raise UsageError("S3 location needs a bucket", "for example s3://circle-cohorts/north")
        out: dict[str, Any] = {"type": "s3", "bucket": parts.netloc, "path": unquote(parts.path).strip("/")}
        if self.endpoint:
            endpoint = urlsplit(_with_scheme(self.endpoint))
            try:
                endpoint.port  # noqa: B018 (it raises for a port that is not a number)
            except ValueError:
                raise UsageError("S3 endpoint has an invalid port", "for example http://192.0.2.5:8333") from None
            if endpoint.scheme not in ("http", "https") or not endpoint.hostname:
                raise UsageError("S3 endpoint must be an http:// or https:// address", "for example http://192.0.2.5:8333")
            out["endpoint"] = self.endpoint
            out["force-path-style"] = bool(self.force_path_style)
        if self.region:
            out["region"] = self.region
        elif self.endpoint:
            out["region"] = "us-east-1"  # S3-compatible stores ignore it; the SDK wants one
        if self.access_key_id:
            out["access-key-id"] = _reference(self.access_key_id)
        if self.secret_access_key:
            out["secret-access-key"] = _reference(self.secret_access_key)
        return out

    def credential_env(self) -> dict[str, str]:
        """The environment variables the :meth:`config` section refers to, with the credentials in them.

        Litestream expands ``${NAME}`` in its config before parsing it, so the
        config file holds only the names. The values are JSON-escaped: they
        land inside a double-quoted string of the config.
        """
        return {credential_var(s): json.dumps(s, ensure_ascii=False)[1:-1] for s in self._secrets()}

    def _secrets(self) -> tuple[str, ...]:
        found = (self.password, self.secret_access_key, self.access_key_id)
        return tuple(s for s in found if s)


def _with_scheme(endpoint: str) -> str:
    """``endpoint`` with ``https://`` in front when it has no scheme, as Litestream's S3 client reads it."""
    return endpoint if "://" in endpoint else f"https://{endpoint}"
