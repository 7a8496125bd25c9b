"""Commands for exports: `circle export` (summaries and minutes, signed) and `circle verify-export` (no home needed)."""

from __future__ import annotations

from pathlib import Path

import click

from circle.cli.common import Context, echo, friendly, pass_ctx
from circle.errors import AlreadyExists, UsageError
from circle.export import FORMATS

FORMAT_HELP = "md (to read and share), html (prints on A4), csv (a zip of tables), json (circle-export/1), pdf (summary and attendance certificates)."


@click.command("export")
@click.argument("cohort")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help=FORMAT_HELP + " Default: what -o ends in, else md.")
@click.option("-o", "--output", type=click.Path(), help="Where to write (default: a file named after the cohort, here). CSV with --folder: a folder.")
@click.option("--from", "period_from", metavar="DATE", help="First day of the period, YYYY-MM-DD.")
@click.option("--to", "period_to", metavar="DATE", help="Last day of the period, YYYY-MM-DD.")
@click.option("--meeting", metavar="ID", help="One meeting's minutes: its id prefix or date (see --list-meetings).")
@click.option("--list-meetings", is_flag=True, help="List the cohort's meetings with their ids, and export nothing.")
@click.option("--anonymous", is_flag=True, help="Include the anonymous round's text (never its authors; by default only counted).")
@click.option("--folder", is_flag=True, help="CSV: one file per table in a folder instead of a zip.")
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@pass_ctx
@friendly
def export(
    c: Context,
    cohort: str,
    fmt: str | None,
    output: str | None,
    period_from: str | None,
    period_to: str | None,
    meeting: str | None,
    list_meetings: bool,
    anonymous: bool,
    folder: bool,
    force: bool,
) -> None:
    """Export COHORT's summary (or one meeting's minutes), signed by you.

    Only what every member of the cohort sees is exported: your private notes
    never, events the cohort's rules held aside never, anonymous-round lines
    without authors. The export ends with a manifest of what was left out.
    A signature file (FILE.sig) is written beside it: anyone can check it with
    'circle verify-export FILE', without a circle home.
    """
    from circle import export as ex

    if meeting and (period_from or period_to):
        raise UsageError("--meeting takes no period", "give either --meeting or --from/--to")
    fmt = "csv" if folder and not fmt else ex.format_for(Path(output) if output and not folder else None, fmt)
    if folder and fmt != "csv":
        raise UsageError("--folder is for CSV", "add --format csv, or leave out --folder")
    start, end = ex.parse_day(period_from, "--from"), ex.parse_day(period_to, "--to")
    session = c.unlock()
    svc = session.find_cohort(cohort)
    if list_meetings:
        with svc.store.lock:
            rows = ex.meeting_list(svc.view)
        if not rows:
            echo("No meetings yet.")
        for short, at, state, title in rows:
            echo(f"{short}  {at}  {state:<9}  {title}")
        return
    meeting_id = ""
    if meeting:
        with svc.store.lock:
            meeting_id = ex.find_meeting(svc.view, meeting).id
    summary = ex.summarize(svc, period_from=start, period_to=end, meeting=meeting_id, anonymous=anonymous)
    path = (
        Path(output).expanduser() if output else Path.cwd() / (ex.default_name(summary, fmt).removesuffix(".zip") if folder else ex.default_name(summary, fmt))
    )
    if path.is_dir() and not folder:  # said first: --force would not help
        raise UsageError(f"{path} is a folder", "give a file name with -o")
    if path.exists() and not force and not (folder and path.is_dir() and not any(path.iterdir())):
        raise AlreadyExists(f"{path} exists", "choose another -o, or pass --force to overwrite it")
    written = ex.write(summary, fmt, path, ex.signer_of(svc.store.author), svc.now(), folder=folder)
    for f, sig in written.files:
        echo(f"Wrote {f} ({f.stat().st_size:,} bytes), signature in {sig.name}")
    echo(f"Signed by {session.name}, fingerprint {session.fingerprint}")
    for o in summary.left_out:
        if o.count:  # "0 private notes of yours not included" said nothing (the export's own section lists every kind)
            echo(o.text)


@click.command("verify-export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--signature", "sig", type=click.Path(dir_okay=False), help="The signature file (default: FILE.sig).")
@friendly
def verify_export(file: str, sig: str | None) -> None:
    """Check an export's signature: who signed it, and that it has not changed since.

    Needs no circle home and no passphrase. Compare the fingerprint printed
    with one you know for the signer from elsewhere (what 'circle whoami'
    shows on their device): a signature only says which key signed.
    """
    from circle.export.signature import verify

    v = verify(Path(file), Path(sig) if sig else None)
    echo(f"Good signature by {v.name}")
    echo(f"Fingerprint: {v.fingerprint}")
    echo(f"Signed at {v.signed_at} as {v.file}")
    echo("Compare the fingerprint with one you know for the signer from elsewhere before trusting the name.")


COMMANDS = [export, verify_export]
