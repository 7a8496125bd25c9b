"""Golden files: every format of the demo cohort's export, with a frozen clock.

Ids and fingerprints are random in every demo build, so they are named by
order of first appearance before comparing (``normalise``); everything else
must match byte for byte. Regenerate after a deliberate change with
``CIRCLE_UPDATE_GOLDEN=1 pytest tests/export/test_golden.py`` and read the diff.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from circle import export as ex
from tests.export.conftest import GOLDEN, all_formats, frozen, need, normalise, pdf_text

UPDATE = bool(os.environ.get("CIRCLE_UPDATE_GOLDEN"))


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    assert path.is_file(), f"no golden file {name}: run with CIRCLE_UPDATE_GOLDEN=1"
    assert normalise(text) == normalise(path.read_bytes().decode()), f"{name} differs from its golden file"


@pytest.fixture(scope="module")
def summary_files(helen, tmp_path_factory) -> dict[str, Path]:
    return all_formats(helen, tmp_path_factory.mktemp("golden"))


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_text_formats_match_their_golden_files(summary_files, fmt):
    check(f"summary.{fmt}", normalise(summary_files[fmt].read_text(encoding="utf-8")))


def test_csv_tables_match_their_golden_files(summary_files):
    with zipfile.ZipFile(summary_files["csv"]) as z:
        names = z.namelist()
        assert names == [
            "charter.csv",
            "members.csv",
            "meetings.csv",
            "meeting_attendance.csv",
            "agenda.csv",
            "notes.csv",
            "actions.csv",
            "attendance.csv",
            "facilitation.csv",
            "credit_rules.csv",
            "credits.csv",
            "credit_meetings.csv",
            "agreement.csv",
            "agreement_signatures.csv",
            "goals.csv",
            "goal_evidence.csv",
            "open_actions.csv",
            "manifest.csv",
        ]
        for n in names:
            check(f"csv/{n}", normalise(z.read(n).decode("utf-8-sig")))


def test_pdf_text_matches_its_golden_file(summary_files):
    need("pdftotext")
    check("summary.pdf.txt", normalise(pdf_text(summary_files["pdf"])))


def test_minutes_of_one_meeting_match_their_golden_file(helen, tmp_path):
    with helen.store.lock:
        meeting = ex.find_meeting(helen.view, "2025-05-21")
    summary = ex.summarize(helen, meeting=meeting.id)
    assert summary.kind == "minutes" and [m.at for m in summary.meetings] == ["2025-05-21 18:00"]
    check("minutes.md", normalise(ex.render(summary, "md").decode()))


def test_a_period_keeps_only_its_meetings_and_says_how_many_it_left_out(helen):
    summary = ex.summarize(helen, period_from="2025-04-01", period_to="2025-04-30")
    assert [m.at[:10] for m in summary.meetings] == ["2025-04-09", "2025-04-23"]
    other = next(o for o in summary.left_out if o.key == "other_meetings")
    assert other.count == 8 and other.text == "8 meetings outside the period not included."
    assert all(a.held <= 2 for a in summary.attendance)


def test_the_same_export_twice_gives_the_same_bytes(helen, tmp_path):
    """Deterministic output (a golden file can hold it, a signature can be checked against a re-export)."""
    summary = ex.summarize(helen)
    for fmt in ex.FORMATS:
        assert ex.render(summary, fmt, signer_name="Helen Okafor", fingerprint="1") == ex.render(summary, fmt, signer_name="Helen Okafor", fingerprint="1"), fmt
    assert summary.generated_at == "2025-06-02T09:30:00Z" and frozen() == helen.now()


def test_a_preview_is_the_start_of_the_whole_and_says_when_there_is_more(helen):
    """markdown.render with a limit stops writing past it (the export screen's preview): its text is the whole's up to the
    limit, and it is longer than the limit exactly when the whole is, so the preview's "stops here" line is true."""
    from circle.export import markdown

    s = ex.summarize(helen)
    whole = markdown.render(s)
    cuts = [0, 1, 80, len(whole) // 3, whole.index("\n", len(whole) // 2), whole.index("\n", len(whole) // 2) + 1, len(whole) - 1, len(whole), len(whole) + 5]
    for limit in cuts:
        part = markdown.render(s, limit=limit)
        assert whole.startswith(part) and part[:limit] == whole[:limit], limit
        assert (len(part) > limit) == (len(whole) > limit), limit
    assert len(markdown.render(s, limit=100)) < len(whole) // 10  # it stopped: not the whole, cut afterwards
