"""Fixtures for exports: the demo cohort built once for a fixed day, copied per test, read with a frozen clock."""

from __future__ import annotations

import calendar
import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from circle import export as ex
from circle.demo import DEMO_PASSPHRASE, build_demo
from circle.store.service import CohortService
from circle.store.session import Home, Session

TODAY = dt.date(2025, 6, 2)  # the demo's upcoming meeting is on 2025-06-04
EXPORTED_AT = float(calendar.timegm(dt.datetime(2025, 6, 2, 9, 30).timetuple()))
GOLDEN = Path(__file__).parent / "golden"


def frozen() -> float:
    return EXPORTED_AT


@pytest.fixture(scope="session")
def export_demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("export-demo") / "home"
    build_demo(root, today=TODAY)
    return root


@pytest.fixture
def demo_copy(export_demo, tmp_path) -> Path:
    dest = tmp_path / "home"
    shutil.copytree(export_demo, dest, symlinks=True)
    return dest


def open_as(home: Path, name: str) -> tuple[Session, CohortService]:
    session = Home(home).unlock(DEMO_PASSPHRASE, name, clock=frozen)
    return session, session.cohort(session.cohort_ids()[0])


@pytest.fixture(scope="session")
def helen(export_demo) -> CohortService:
    """The demo read by its mentor, from the session's template (read only: nothing is written)."""
    return open_as(export_demo, "Helen Okafor")[1]


def all_formats(svc: CohortService, out: Path, **options) -> dict[str, Path]:
    """Export in every format into ``out``; returns format -> file (CSV: the zip)."""
    summary = ex.summarize(svc, **options)
    signer = ex.signer_of(svc.store.author)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for fmt in ex.FORMATS:
        path = out / ex.default_name(summary, fmt)
        ex.write(summary, fmt, path, signer, frozen())
        files[fmt] = path
    return files


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True).stdout


def readable(fmt: str, path: Path) -> str:
    """What a person (or a tool) reads of an export, as text: PDF through pdftotext, CSV as every table joined."""
    if fmt == "pdf":
        return pdf_text(path)
    if fmt == "csv":
        import zipfile

        with zipfile.ZipFile(path) as z:
            return "\n".join(f"== {n}\n" + z.read(n).decode("utf-8-sig") for n in z.namelist())
    return path.read_text(encoding="utf-8")


_FP = re.compile(r"\b\d{5}(?: \d{5}){7}\b")
_HEX = re.compile(r"\b[0-9a-f]{16}(?:[0-9a-f]{16})?\b")


def normalise(text: str) -> str:
    """Ids and fingerprints differ between two demo builds: name them by order of first appearance."""
    seen: dict[str, str] = {}

    def name(m: re.Match[str]) -> str:
        return seen.setdefault(m.group(), f"<id{len(seen) + 1}>")

    return _HEX.sub(name, _FP.sub("<fingerprint>", text))


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian package in .ci/apt-packages.txt)")
    return path
