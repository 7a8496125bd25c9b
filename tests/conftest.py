"""Shared fixtures: a temporary CIRCLE_HOME, Argon2 at its floor, a frozen clock.

Every test runs with ``CIRCLE_HOME`` pointing into a fresh temporary directory
(so nothing ever touches a real home), with keystore calibration off (Argon2id
stays at the 64 MiB floor, about 0.1 s a call) and with the environment
variables that change the CLI's behaviour removed.
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

PASSPHRASE = "correct horse battery staple"
FROZEN_AT = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class FrozenClock:
    """A clock that only moves when told to; pass it where circle takes a ``clock``."""

    def __init__(self, now: float = FROZEN_AT) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session", autouse=True)
def _argon2_at_floor() -> Iterator[None]:
    # Session-wide, so module-scoped fixtures that create keystores are fast too.
    yield


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("CIRCLE_HOME", str(tmp_path_factory.mktemp("home") / "circle"))
    for var in ("CIRCLE_PASSPHRASE", "CIRCLE_IDENTITY", "CIRCLE_DEBUG", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)


FD_COLLECT_ABOVE = 300  # well under the usual soft limit of 1024 open files (`ulimit -n` on a desktop)


@pytest.fixture(autouse=True)
def _let_go_of_stores() -> Iterator[None]:
    """Stores and sessions a test leaves open hold their journals, texts and WAL files until the collector frees them (they
    sit in reference cycles, often frozen out of its scans), and a whole run held 1,307 descriptors at a time, past the usual
    limit of 1,024: past a few hundred, collect."""
    yield
    try:
        held = len(os.listdir("/proc/self/fd"))
    except OSError:  # no /proc (not Linux): collect anyway, a few ms
        held = FD_COLLECT_ABOVE + 1
    if held > FD_COLLECT_ABOVE:
        gc.unfreeze()  # what a cohort's load froze out of the collector's scans (CohortStore.load: settle_heap)
        gc.collect()


@pytest.fixture
def circle_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A home path (not yet created) that CIRCLE_HOME points at."""
    root = tmp_path / "circle-home"
    monkeypatch.setenv("CIRCLE_HOME", str(root))
    return root


@pytest.fixture
def passphrase() -> str:
    return PASSPHRASE


@pytest.fixture
def frozen_clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def home(circle_home: Path):
    from circle.store.session import Home

    return Home(circle_home, calibrate=False)


@pytest.fixture
def session(home, frozen_clock: FrozenClock):
    """An unlocked identity named Ana in the temporary home (one Argon2id call)."""
    return home.create_identity("Ana", PASSPHRASE, clock=frozen_clock)


def tree_digest(root: Path) -> dict[str, str]:
    """Hash of every file under ``root``, by relative path.

    SQLite's own ``-shm`` index and an empty ``-wal`` are left out: a read-only
    reader of a WAL database may create them, and they hold no data.
    """
    out = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        name = p.name
        if name.endswith("-shm") or (name.endswith("-wal") and p.stat().st_size == 0):
            continue
        out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def ward(tmp_path: Path):
    """Ana (founder, mentor), Ben (peer), Cleo (participant) on three laptops, all synced (tests/security/laptops.py)."""
    from tests.security.laptops import Laptops

    lap = Laptops(tmp_path, "Ana")
    lap.join("Ben", "peer")
    lap.join("Cleo", "participant")
    lap.sync()
    return lap


# ---- the security and reliability suite's figures (issue 16; tests/figures.py) -------------
def pytest_addoption(parser: pytest.Parser) -> None:
    # A flag, not a path: pytest takes an existing path after an unknown option for a test path
    # before it reads this conftest. CIRCLE_RELIABILITY_REPORT=PATH writes somewhere else.
    parser.addoption(
        "--reliability-report",
        action="store_true",
        default=False,
        help="write the figures of the security and reliability suite to docs/RELIABILITY.md (or $CIRCLE_RELIABILITY_REPORT) at the end of the run",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reliability: the security and reliability suite (tests/figures.py SUITE)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from tests import figures

    root = Path(str(config.rootpath))
    for item in items:
        if figures.in_suite(str(Path(str(item.path)).relative_to(root))):
            item.add_marker(pytest.mark.reliability)


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:  # noqa: ARG001
    from tests import figures

    lines = figures.terminal_lines()
    if lines:
        terminalreporter.section("security and reliability figures (tests/figures.py)")
        for line in lines:
            terminalreporter.write_line(line)
    path = os.environ.get("CIRCLE_RELIABILITY_REPORT") or (
        Path(str(config.rootpath)) / "docs" / "RELIABILITY.md" if config.getoption("--reliability-report") else None
    )
    if path:
        stats = terminalreporter.stats
        counts = {k: len(stats.get(k, [])) for k in ("passed", "failed", "error", "skipped", "xfailed")}
        outcome = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "none ran"
        Path(path).write_text(figures.report(figures.command_line(), outcome) + "\n", encoding="utf-8")
        terminalreporter.write_line(f"figures written to {path}")
