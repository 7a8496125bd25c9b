"""Exports: cohort summaries and meeting minutes for program leads and credit bodies, signed by the exporter.

One pass reads the shared view into a :class:`~circle.export.summary.Summary`
(cleaned, plain data; nothing private can be in it); each format renders it;
:mod:`circle.export.signature` signs the bytes written. The CLI
(`circle export`, `circle verify-export`) and the export screen both go
through :func:`summarize` and :func:`write`. Nothing here imports Textual.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from circle.errors import CorruptFile, NotFound, StorageError, UsageError
from circle.export import csv_format, html, json_format, markdown
from circle.export.signature import Signer, sign_file, verify, write_signed
from circle.export.summary import Progress, Summary, build, find_meeting, meeting_list, parse_day
from circle.models.rota import Rota
from circle.store.goals import GoalService
from circle.store.texts import unreadable_now

FORMATS = ("md", "html", "csv", "json", "pdf")
EXTENSIONS = {"md": ".md", "html": ".html", "csv": ".zip", "json": ".json", "pdf": ".pdf"}
ENDINGS = {**{e: f for f, e in EXTENSIONS.items()}, ".markdown": "md", ".htm": "html"}  # what a file name's ending says it holds

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "Signer",
    "Summary",
    "Written",
    "build",
    "default_name",
    "find_meeting",
    "format_for",
    "meeting_list",
    "parse_day",
    "render",
    "summarize",
    "verify",
    "write",
]


@dataclass(frozen=True)
class Written:
    """What an export wrote: each file and its signature file."""

    files: tuple[tuple[Path, Path], ...]
    size: int  # bytes of the exported files, signatures not counted


def render(s: Summary, fmt: str, *, signer_name: str = "", fingerprint: str = "") -> bytes:
    """The export's bytes in one format (CSV: a zip of its tables)."""
    if fmt == "md":
        return markdown.encoded(s)
    if fmt == "html":
        return html.encoded(s)
    if fmt == "json":
        return json_format.encoded(s)
    if fmt == "csv":
        return csv_format.render_zip(s)
    if fmt == "pdf":
        from circle.export import pdf  # fpdf2 and fontTools load only when a PDF is asked for

        return pdf.render(s, signer_name=signer_name or s.exporter, fingerprint=fingerprint)
    raise UsageError(f"unknown format {fmt!r}", "md, html, csv, json or pdf")


def format_for(path: Path | None, fmt: str | None, formats: tuple[str, ...] = FORMATS) -> str:
    """The format to write to ``path``: ``fmt`` as asked, else the one the file name's ending names, else Markdown.

    Raises:
        UsageError: the file name ends in another format's extension than ``fmt``
            (a PDF named .md, or Markdown named .pdf, opens as nonsense).
    """
    ending = path.suffix.lower() if path is not None else ""
    if ending == ".csv":
        raise UsageError(f"{path.name}: a CSV export is a zip of tables", "name it .zip (the command line's --folder writes one .csv per table)")
    named = ENDINGS.get(ending)
    if named and named not in formats:
        raise UsageError(f"{path.name} ends in {path.suffix}, which this export is not", f"name it {' or '.join(EXTENSIONS[f] for f in formats)}")
    if fmt and named and named != fmt:
        raise UsageError(f"{path.name} ends in {path.suffix} but the format is {fmt}", f"name it {EXTENSIONS[fmt]}, or choose {named}")
    return fmt or named or "md"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "cohort"


def default_name(s: Summary, fmt: str) -> str:
    """A file name for the export: cohort, what and when (ASCII only)."""
    what = f"minutes-{s.meetings[0].at[:10]}" if s.kind == "minutes" and s.meetings else f"summary-{s.generated_at[:10]}"
    return f"{_slug(s.charter.name)}-{what}{EXTENSIONS[fmt]}"


def write(s: Summary, fmt: str, path: Path, signer: Signer, signed_at: float, *, folder: bool = False) -> Written:
    """Render, write and sign: ``path`` is the file (or, for CSV with ``folder``, the folder of tables).

    Raises:
        UsageError: the folder to write in is not there, or the file cannot be written (one line, with the path).
    """
    if not path.parent.is_dir():  # a typo in a path is said, not made into folders
        raise UsageError("folder not found", f"{path.parent}: create it first, or choose another path")
    # Rendered first, then written: the notes' texts are read back as they are rendered (never all held at once), and
    # a note that could not be read then is known before anything is written.
    if fmt == "csv" and folder:
        tables = csv_format.tables(s)
    else:
        data = render(s, fmt, signer_name=signer.name, fingerprint=signer.fingerprint)
    lost = sum(unreadable_now(n.text_held) for m in s.meetings for n in m.notes)
    if lost:  # a signed export says what was written: never a stand-in for a note (a member may write its words: not that)
        raise CorruptFile(
            f"{lost} note{'s' if lost != 1 else ''} could not be read again from {'their' if lost != 1 else 'its'} journal",
            "run 'circle verify', then 'circle sync --once' to restore the journal from the replica, and export again",
        )
    try:
        if fmt == "csv" and folder:
            files = csv_format.write_folder(tables, path)
            return Written(tuple((f, sign_file(f, signer, signed_at)) for f in files), sum(f.stat().st_size for f in files))
        side = write_signed(path, data, signer, signed_at)
    except OSError as exc:
        # The path asked for, never the temporary file beside it that was being written.
        raise UsageError("cannot write the export", f"{path}: {exc.strerror or exc}; choose another path") from None
    return Written(((path, side),), len(data))


def summarize(
    service,  # noqa: ANN001 - a circle.store.service.CohortService
    *,
    period_from: str = "",
    period_to: str = "",
    meeting: str = "",
    anonymous: bool = False,
    progress: Progress | None = None,
    rota: Rota | None = None,
) -> Summary:
    """Read an export from a cohort's service, under its lock (the TUI's preview and every written export).

    The adapter between the store and the export: the shared view, the
    exporter's name and clock, and only the *number* of the exporter's private
    notes (``CohortStore.self_notes()``) and of the private goals they own
    (in their channels, :class:`~circle.store.goals.GoalService`), for the manifest.
    """
    store = service.store
    with store.lock:
        problem = store.own_journal_problem()
        if problem is not None:  # the view lacks what this identity wrote: a signed summary would say it never was
            raise StorageError(problem, "nothing was exported; run 'circle sync --once' to put it back from your replica, then export again")
        if not service.view.founded:
            raise NotFound("this cohort has nothing to export yet", "its founding has not reached this device; run 'circle sync'")
        return build(
            service.view,
            generated_at=service.now(),
            exporter=store.author.name,
            self_notes=len(store.self_notes()),
            private_goals=private_goal_count(service),
            period_from=period_from,
            period_to=period_to,
            meeting=meeting,
            anonymous=anonymous,
            progress=progress,
            rota=rota,
            unsaid_before=store.unsaid_before(),
        )


def private_goal_count(service) -> int:  # noqa: ANN001 - a circle.store.service.CohortService
    """How many private goals the exporting member owns in this cohort (counted for the manifest, never read into an export)."""
    me = service.me
    return sum(1 for g in GoalService(service).read().goals if not g.shared and g.owner == me)


def signer_of(author) -> Signer:  # noqa: ANN001 - a circle.store.writer.Author
    """The exporting identity as a :class:`Signer`."""
    return Signer(author.name, author.public, author.signer)
