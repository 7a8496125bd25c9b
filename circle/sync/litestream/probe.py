"""Looking at a replica's endpoint directly, for faults Litestream only reports after minutes.

Litestream's S3 client retries a refused connection, https spoken to an http
port (and the reverse) and an untrusted certificate ten times, for about two
minutes, and says nothing until it gives up. When a one-off command has not
finished after a second, :func:`diagnose` looks up the host, connects and
checks which protocol answers, all within the time left; a definite cause
ends the command at once with the error that names it.

It never sends credentials, and it stays out of the way when a proxy is
set for the endpoint (it cannot know what the proxy reaches).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
import urllib.request
from urllib.parse import urlsplit

from circle.errors import ReplicaMisconfigured, ReplicaOffline, SyncError
from circle.sync.litestream.faults import RETRIES, ReplicaRefused, endpoint_of, fit, where
from circle.sync.litestream.replica import Replica

_NOT_TLS = (
    "wrong_version_number",
    "wrong version number",
    "http_request",
    "http request",
    "unknown protocol",
    "record layer failure",
    "packet length too long",
)


def _err(cls: type[SyncError], title: str, hint: str) -> SyncError:
    return cls(*fit(title, hint))


def _resolve(host: str, port: int, timeout: float) -> list[tuple]:
    """getaddrinfo with a deadline (it has none of its own)."""
    box: dict[str, object] = {}

    def look() -> None:
        try:
            box["ok"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["err"] = exc

    t = threading.Thread(target=look, name="circle-resolve", daemon=True)
    t.start()
    t.join(timeout)
    if "err" in box:
        raise box["err"]  # type: ignore[misc]
    if "ok" not in box:
        raise TimeoutError(f"lookup of {host} took longer than {timeout:.0f} s")
    return box["ok"]  # type: ignore[return-value]


def _proxied(scheme: str, host: str) -> bool:
    proxies = urllib.request.getproxies_environment()
    return scheme in proxies and not urllib.request.proxy_bypass_environment(host, proxies)


def _connect_host(replica: Replica) -> tuple[str, str, int]:
    """(scheme, host to connect to, port): with virtual-host addressing the S3 client asks for ``<bucket>.<host>``."""
    scheme, host, port = endpoint_of(replica)
    if replica.kind == "s3" and not (replica.endpoint and replica.force_path_style):
        bucket = urlsplit(replica.url).netloc
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if "." not in bucket:  # the SDK falls back to path style for IP addresses and dotted buckets
                host = f"{bucket}.{host}"
    return scheme, host, port


def diagnose(replica: Replica, timeout: float, *, verify: bool = False) -> SyncError | None:
    """The fault that keeps ``replica`` from answering, if one can be seen from here within ``timeout`` seconds.

    Looks the host up, connects, and checks that the server speaks what the
    location says (TLS for https, plain HTTP for http, an SSH banner for
    SFTP). With ``verify``, also checks the server's certificate against
    the location's CA bundle or the system's (called when Litestream gave no
    answer at all: its own checks then said nothing). Returns None when all
    of this looks fine, or for folders and proxied endpoints.
    """
    if replica.kind == "file":
        return None
    deadline = time.monotonic() + max(0.1, timeout)
    scheme, host, port = _connect_host(replica)
    at = where(replica)
    if scheme in ("http", "https") and _proxied(scheme, host):
        return None
    try:
        addresses = _resolve(host, port, deadline - time.monotonic())
    except (TimeoutError, OSError):
        # An unknown name is Litestream's to tell (it does, at once: "no such host"). Still
        # running and unresolvable here means no DNS: offline (macOS even says "unknown name" then).
        return _err(ReplicaOffline, "the replica is unreachable", f"cannot look up {host}: check the network; {RETRIES}")
    sock = None
    refused = False
    for family, kind, proto, _, address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s = socket.socket(family, kind, proto)
        s.settimeout(left)
        try:
            s.connect(address)
            sock = s
            break
        except ConnectionRefusedError:
            refused = True
        except OSError:
            pass
        s.close()
    if sock is None:
        if refused:
            return _err(ReplicaRefused, "the replica is unreachable", f"nothing listens at {at} (connection refused): check the port, or start the server")
        return _err(ReplicaOffline, "the replica is unreachable", f"no connection to {at}: check the network; {RETRIES}")
    with sock:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            if scheme == "ssh":
                return _check_ssh(sock, at)
            if scheme == "https":
                return _check_tls(sock, host, replica, at, verify)
            return _check_http(sock, host, at)
        except TimeoutError:
            return _err(ReplicaOffline, "the replica does not answer", f"{at} accepts connections but says nothing: {RETRIES}")
        except OSError:
            return None  # reset, closed: let litestream tell


def _check_ssh(sock: socket.socket, at: str) -> SyncError | None:
    sock.sendall(b"SSH-2.0-circle_probe\r\n")  # both sides send theirs at once; other servers answer it with their own complaint
    banner = sock.recv(256)
    if banner.startswith(b"SSH-"):
        return None
    if not banner:
        return None  # closed at once: MaxStartups, a firewall; litestream says more
    return _err(ReplicaMisconfigured, "not an SSH server", f"{at} does not speak SSH: check the port of the sftp:// location")


def _check_tls(sock: socket.socket, host: str, replica: Replica, at: str, verify: bool) -> SyncError | None:
    ctx = ssl.create_default_context(cafile=replica.ca_bundle) if verify else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    try:
        with ctx.wrap_socket(sock, server_hostname=host):
            return None
    except ssl.SSLCertVerificationError as exc:
        return _err(
            ReplicaMisconfigured, "the store's TLS certificate is not trusted", f"{exc.verify_message}: if it uses a private CA, set the location's CA bundle"
        )
    except ssl.SSLError as exc:
        text = f"{exc.reason} {exc}".lower()
        if any(s in text for s in _NOT_TLS):
            if replica.endpoint and "://" not in replica.endpoint:
                return _err(
                    ReplicaMisconfigured, "the S3 endpoint has no http:// or https://", f"https is assumed, but {at} speaks http: write it as http://{at}"
                )
            return _err(
                ReplicaMisconfigured, "https endpoint on an http port", f"{at} speaks http: write the endpoint as http://{at}, or use the store's https port"
            )
        return None


def _check_http(sock: socket.socket, host: str, at: str) -> SyncError | None:
    sock.sendall(f"HEAD / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    head = b""
    with contextlib.suppress(ConnectionResetError):
        while b"\r\n\r\n" not in head and len(head) < 4096:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    if head[:1] == b"\x15" or b"http request to an https server" in head.lower():
        return _err(ReplicaMisconfigured, "http endpoint on an https port", f"{at} speaks https: write the endpoint as https://{at}")
    return None
