"""The exports as people see them: HTML in headless Chromium (screen and A4 print), the PDF through poppler.

Debian's chromium and poppler-utils are in .ci/apt-packages.txt; these tests
skip, saying why, only where they are not installed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.export.conftest import all_formats, need, pdf_text

SECTIONS = [
    "Charter",
    "Charter agreement",
    "Roster",
    "Attendance",
    "Credits",
    "Meetings",
    "Facilitation history",
    "Open actions",
    "What this export leaves out",
]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def files(helen, tmp_path_factory) -> dict[str, Path]:
    return all_formats(helen, tmp_path_factory.mktemp("render"))


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = need("chromium")
    return subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args], capture_output=True, text=True, timeout=120)


def mostly_blank(png: Path) -> float:
    img = Image.open(png).convert("L")
    hist = img.histogram()
    return sum(hist[250:]) / sum(hist)


def test_html_renders_in_chromium_with_every_section(files, tmp_path):
    page = files["html"].resolve().as_uri()
    png = tmp_path / "summary.png"
    chromium(tmp_path, f"--screenshot={png}", "--window-size=1240,1754", page)
    assert png.is_file(), "chromium wrote no screenshot"
    assert Image.open(png).size == (1240, 1754)
    assert 0.5 < mostly_blank(png) < 0.995, "the page is blank or unreadable"
    dom = chromium(tmp_path, "--dump-dom", page).stdout
    for s in SECTIONS:
        assert f">{s}</h2>" in dom, s
    assert dom.count("<svg") == 2 and "<script" not in dom


def test_html_prints_on_a4_with_every_section(files, tmp_path):
    need("pdftotext")
    printed = tmp_path / "printed.pdf"
    chromium(tmp_path, f"--print-to-pdf={printed}", "--no-pdf-header-footer", files["html"].resolve().as_uri())
    assert printed.is_file()
    info = subprocess.run(["pdfinfo", str(printed)], capture_output=True, text=True, check=True).stdout
    assert "pts (A4)" in info, info
    text = pdf_text(printed)
    for s in SECTIONS:
        assert s in text, s
    assert "Teaching students" in text and "Helen Okafor" in text


def test_pdf_opens_in_poppler_with_summary_and_certificates(files, tmp_path):
    need("pdftoppm")
    out = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(files["pdf"]), str(out)], check=True, capture_output=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 8  # the summary, then seven certificates
    for p in pages:
        assert 0.5 < mostly_blank(p) < 0.999, p.name
    text = pdf_text(files["pdf"])
    for s in SECTIONS:
        assert s in text, s
    assert text.count("Certificate of attendance") == 7
    info = subprocess.run(["pdfinfo", str(files["pdf"])], capture_output=True, text=True, check=True).stdout
    assert "A4" in info and "Helen Okafor" in info


def test_pdf_prints_names_in_any_script_and_says_when_a_glyph_is_missing(tmp_path):
    need("pdftotext")
    from circle.export import pdf
    from circle.export.summary import Charter, Summary

    names = ["Ana Tūhoe", "李小龙", "Zoë Ångström", "Дмитрий"]
    s = Summary(
        "summary",
        "c" * 32,
        Charter("Circle 圈", "Purpose", "fortnightly", 60, "", ""),
        "2025-06-02T09:30:00Z",
        "Ana Tūhoe",
        "",
        "",
        (),
        (),
        (),
        (),
        (),
        (),
    )
    s = Summary(**{**s.__dict__, "charter": Charter("Circle 圈 " + " ".join(names) + " \U0001d11e", "", "fortnightly", 60, "", "")})
    data = pdf.render(s, signer_name="李小龙", fingerprint="12345 67890")
    path = tmp_path / "names.pdf"
    path.write_bytes(data)
    text = pdf_text(path)
    for n in names:
        assert n in text, n
    assert "1 character(s) had no glyph in the embedded fonts and print as □" in text  # the musical G clef is in neither font
