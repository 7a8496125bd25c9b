"""`circle agreement`: the cohort's charter agreement: show, propose or amend, sign, verify; the mentoring ratio.

A signature is an event of the signer's journal, signed with their identity
key; ``verify`` recomputes each version's digest from its text and lists any
signature that names another text.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from circle.cli.common import Context, echo, friendly, pass_ctx, plural
from circle.cli.meeting import json_out
from circle.errors import CircleError, NotFound, UsageError
from circle.models.agreements import CHARTER_SECTION_NAMES, SECTIONS
from circle.models.text import clean_name
from circle.store.agreements import AgreementService

MAX_FILE = 64 * 1024


class SignatureMismatch(CircleError):
    """A signature names a text other than the one this device holds for its version."""


@click.group()
def agreement() -> None:
    """The cohort's charter agreement: goals, meetings, confidentiality, feedback, ending; signed by every member.

    \b
    circle agreement show COHORT [--json]
    circle agreement propose COHORT [--goals T] [--cadence T] [--confidentiality T] [--feedback T] [--ending T] [--text T] [--file F]
    circle agreement sign COHORT --coi none|TEXT
    circle agreement verify COHORT
    circle agreement ratio COHORT [--set N]
    """


def _service(c: Context, cohort: str) -> AgreementService:
    return AgreementService(c.unlock().find_cohort(cohort))


def _print_warnings(svc: AgreementService) -> None:
    for w in svc.ratio_warnings():
        echo(f"warning: {w}")


@agreement.command("show")
@click.argument("cohort")
@click.option("--json", "as_json", is_flag=True, help="One line of JSON, for scripts.")
@pass_ctx
@friendly
def agreement_show(c: Context, cohort: str, as_json: bool) -> None:
    """Show COHORT's charter agreement: the current text, who signed (with their declarations), who has not, every version."""
    svc = _service(c, cohort)
    doc = svc.document()
    if as_json:
        json_out(doc)
        return
    a = doc["agreement"]
    if a is None:
        echo(f"{clean_name(doc['cohort'])}: no charter agreement yet; a mentor proposes one with 'circle agreement propose COHORT'.")
        _print_warnings(svc)
        return
    cur = a["versions"][-1]
    echo(f"{clean_name(doc['cohort'])} · charter agreement, version {cur['version']} · {a['status']}")
    echo(f"digest {cur['digest']}")
    for k in SECTIONS:
        if cur["sections"].get(k):
            echo(f"{CHARTER_SECTION_NAMES[k]}:")
            for part in cur["sections"][k].splitlines() or [""]:
                echo(f"  {part}")
    echo("Signed by:" if cur["signatures"] else "Signed by: nobody yet")
    for s in cur["signatures"]:
        echo(f"  {clean_name(s['member'])} · conflict of interest: {s['coi'] or 'none declared'}")
    if cur["missing"]:
        echo("Still to sign: " + ", ".join(clean_name(n) for n in cur["missing"]))
    if len(a["versions"]) > 1:
        echo("History:")
        for v in a["versions"]:
            echo(f"  version {v['version']} by {clean_name(v['proposed_by'])} · {plural(len(v['signatures']), 'signature')} · {v['digest'][:16]}")
    _print_warnings(svc)


def _sections_from_file(path: str) -> dict[str, str]:
    p = Path(path)
    try:
        raw = p.read_bytes()[: MAX_FILE + 1]
    except OSError as exc:
        raise NotFound("cannot read the file", f"{path}: {exc.strerror or 'not readable'}") from None
    if len(raw) > MAX_FILE:
        raise UsageError("the file is too big", "an agreement's sections are at most a few pages of JSON")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
        raise UsageError("the file is not JSON", 'write it as {"goals": "...", "cadence": "...", ...}') from None
    if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
        raise UsageError("the file is not an object of texts", 'write it as {"goals": "...", "cadence": "...", ...}')
    return doc


@agreement.command("propose")
@click.argument("cohort")
@click.option("--goals", default=None, help="Goals of the cohort.")
@click.option("--cadence", default=None, help="Meetings: how often and how long.")
@click.option("--confidentiality", default=None, help="What stays in the room.")
@click.option("--feedback", default=None, help="How feedback is given.")
@click.option("--ending", default=None, help="Ending and leaving: when the cohort ends, how a member leaves.")
@click.option("--text", "free", default=None, help="Anything else.")
@click.option("--file", "file", type=click.Path(dir_okay=False), help="A JSON object of sections (goals, cadence, confidentiality, feedback, ending, text).")
@pass_ctx
@friendly
def agreement_propose(c: Context, cohort: str, file: str | None, free: str | None, **given: str | None) -> None:
    """Propose COHORT's charter agreement, or amend it (a mentor does): sections not given keep the current text.

    An amendment is a new version: every member signs it again.
    """
    svc = _service(c, cohort)
    if not file and free is None and all(v is None for v in given.values()):  # a draft alone is not a proposal anyone wrote
        raise UsageError("nothing to propose", "give at least one section, e.g. --goals TEXT, or --file FILE")
    sections = svc.draft()
    if file:
        sections.update(_sections_from_file(file))
    given["text"] = free
    sections.update({k: v for k, v in given.items() if v is not None})
    n = svc.propose(sections)
    svc.service.store.flush()
    what = "Proposed version 1 of the charter agreement" if n == 1 else f"Amended: version {n}; signatures start again"
    echo(f"{what}: every member signs it with 'circle agreement sign COHORT --coi none|TEXT'.")
    _print_warnings(svc)


@agreement.command("sign")
@click.argument("cohort")
@click.option("--coi", required=True, help="Your conflict-of-interest declaration: 'none', or describe it.")
@pass_ctx
@friendly
def agreement_sign(c: Context, cohort: str, coi: str) -> None:
    """Sign the current version of COHORT's charter agreement with your identity key, declaring any conflict of interest."""
    svc = _service(c, cohort)
    n = svc.sign(coi)
    svc.service.store.flush()
    a = svc.charter()
    missing = a.missing() if a else ()
    left = ", ".join(sorted(clean_name(svc.view.name_of(p)) for p in missing))
    echo(f"Signed version {n}." + (f" Still to sign: {left}." if left else " Every member has signed it."))


@agreement.command("verify")
@click.argument("cohort")
@pass_ctx
@friendly
def agreement_verify(c: Context, cohort: str) -> None:
    """Recompute every version's digest and check each signature against the text it names; non-zero exit if one does not match."""
    svc = _service(c, cohort)
    checks = svc.verify()
    view = svc.view
    refused = svc.refused()
    bad = [k for k in checks if not k.matches]
    for k in checks:
        state = "ok" if k.matches else ("MISMATCH: not the text of that version here" if k.actual else "MISMATCH: no such version here")
        extra = f" (held aside: {refused[k.event]})" if k.matches and k.event in refused else ""
        echo(f"version {k.version} · {clean_name(view.name_of(k.member))} · {state}{extra}")
    if bad:
        raise SignatureMismatch(
            f"{plural(len(bad), 'signature')} {'does' if len(bad) == 1 else 'do'} not match the text {'it claims' if len(bad) == 1 else 'they claim'}",
            "they count for nobody; ask the signer to read the current text and sign again",
        )
    echo(f"{plural(len(checks), 'signature')} checked: each matches the text it names." if checks else "No signatures yet.")


@agreement.command("ratio")
@click.argument("cohort")
@click.option("--set", "limit", type=int, default=None, help="Set the most mentees per mentor (a mentor does).")
@pass_ctx
@friendly
def agreement_ratio(c: Context, cohort: str, limit: int | None) -> None:
    """Show the team mentoring ratio against COHORT's limit (default 5 mentees per mentor), or set the limit."""
    from circle.models.mentoring import cohort_ratio

    svc = _service(c, cohort)
    if limit is not None:
        svc.set_mentee_limit(limit)
        svc.service.store.flush()
    r = cohort_ratio(svc.view)
    echo(f"{r.words()}; the limit is {r.limit} per mentor.")
    warnings = svc.ratio_warnings()
    _print_warnings(svc)
    if not warnings:
        echo("Within the limit, in the cohort and at every upcoming meeting.")


COMMANDS = [agreement]
