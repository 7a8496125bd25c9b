"""CSV tables for spreadsheets: one file per table, in a zip or a folder, safe to open in Excel or LibreOffice.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and,
in some, a tab or carriage return) as a formula: a member who titles an
action ``=HYPERLINK("https://evil.example", "x")`` would get a live link, or
worse, into the program lead's spreadsheet. So every text cell that starts
with one of those (after any spaces) is prefixed with a single quote, as
OWASP recommends, and quoted by the CSV writer where needed. Numbers are
written as numbers and are never member text.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

from circle.crypto.keystore import atomic_write
from circle.export.summary import Summary

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # entries carry a fixed time: the zip's bytes depend only on its content


def cell(value: object) -> object:
    """One cell: text that a spreadsheet would run as a formula is prefixed with ``'``; numbers and booleans pass."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.lstrip(" ").startswith(FORMULA_START) or text.startswith(FORMULA_START):
        return "'" + text
    return text


def _csv(header: list[str], rows: Iterable[Iterable[object]]) -> bytes:
    """One table as a file holds it: UTF-8 with a BOM (so spreadsheets read names like "Ana Tūhoe" right), encoded as
    its rows are written (a whole history's notes table is about 85 MB: never one string too)."""
    raw = io.BytesIO()
    buf = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="", write_through=False)
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    for r in rows:
        w.writerow([cell(v) for v in r])
    buf.flush()
    data = raw.getvalue()
    buf.detach()
    return data


def tables(s: Summary) -> dict[str, bytes]:
    """Every table as its file's bytes, by file name."""
    out: dict[str, bytes] = {}
    if s.kind == "summary":
        c = s.charter
        out["charter.csv"] = _csv(
            ["field", "value"],
            [
                ("name", c.name),
                ("purpose", c.purpose),
                ("cadence", c.cadence),
                ("meeting_minutes", c.meeting_minutes),
                ("confidentiality", c.confidentiality),
                ("feedback_norms", c.feedback_norms),
                ("period_from", s.period_from),
                ("period_to", s.period_to),
                ("generated_at", s.generated_at),
                ("exporter", s.exporter),
            ],
        )
        out["members.csv"] = _csv(["member_id", "name", "role", "profession", "away"], [(p.id, p.name, p.role, p.profession, p.away) for p in s.members])
    out["meetings.csv"] = _csv(
        ["meeting_id", "at", "title", "minutes", "state", "facilitator", "present", "absent", "not_marked", "anonymous_lines"],
        [(m.id, m.at, m.title, m.minutes, m.state, m.facilitator, len(m.present), len(m.absent), len(m.unmarked), m.anonymous_count) for m in s.meetings],
    )
    out["meeting_attendance.csv"] = _csv(
        ["meeting_id", "at", "member", "mark"],
        [
            (m.id, m.at, who, mark)
            for m in s.meetings
            for mark, names in (("present", m.present), ("absent", m.absent), ("not marked", m.unmarked))
            for who in names
        ],
    )
    out["agenda.csv"] = _csv(
        ["meeting_id", "at", "item_id", "title", "owner", "minutes", "outcome", "carried_over"],
        [(m.id, m.at, i.id, i.title, i.owner, i.minutes, i.outcome, i.carried_in) for m in s.meetings for i in m.items],
    )
    out["notes.csv"] = _csv(
        ["meeting_id", "at", "kind", "author", "agenda_item", "text"],
        ((m.id, m.at, n.kind, n.author, n.item, n.text) for m in s.meetings for n in m.notes),  # each text read back as its row is written
    )
    out["actions.csv"] = _csv(
        ["action_id", "meeting_id", "meeting_at", "title", "owner", "due", "status"],
        [(a.id, a.meeting, a.meeting_at, a.title, a.owner, a.due, a.status) for m in s.meetings for a in m.actions],
    )
    if any(m.anonymous_lines for m in s.meetings):
        out["anonymous_round.csv"] = _csv(["meeting_id", "at", "text"], [(m.id, m.at, line) for m in s.meetings for line in m.anonymous_lines])
    if s.kind == "summary":
        out["attendance.csv"] = _csv(
            ["member_id", "name", "role", "meetings_held", "present", "absent", "not_marked", "minutes_attended", "facilitated"],
            [(a.member, a.name, a.role, a.held, a.present, a.absent, a.unmarked, a.minutes_present, a.facilitated) for a in s.attendance],
        )
        out["facilitation.csv"] = _csv(
            ["meeting_id", "at", "facilitated_by", "rostered", "held", "note"],
            [(t.meeting, t.at, t.facilitated_by, t.rostered, t.held, t.note) for t in s.rota],
        )
    if s.credits is not None:
        out.update(_credit_tables(s))
    if s.kind == "summary":
        out.update(_agreement_tables(s))
    if s.goals is not None:
        out.update(_goal_tables(s))
    out["open_actions.csv"] = _csv(
        ["action_id", "meeting_id", "meeting_at", "title", "owner", "due"], [(a.id, a.meeting, a.meeting_at, a.title, a.owner, a.due) for a in s.open_actions]
    )
    out["manifest.csv"] = _csv(
        ["kind", "key", "count", "text"],
        [*(("left out", o.key, o.count, o.text) for o in s.left_out), *(("not in this version", o.key, "", o.text) for o in s.not_in_this_version)],
    )
    return out


def _credit_tables(s: Summary) -> dict[str, bytes]:
    c = s.credits
    assert c is not None
    rules = {c.rule_in_force.id: c.rule_in_force, **{m.rule.id: m.rule for m in c.members}}
    return {
        "credit_rules.csv": _csv(
            [
                "rule_id",
                "in_force",
                "name",
                "body",
                "hours_per_unit",
                "credits_per_unit",
                "cap",
                "cycle_years",
                "countersigner_roles",
                "unit",
                "rule",
                "how_hours_count",
                "rounding",
            ],
            [
                (r.id, r.id == c.rule_in_force.id, r.name, r.body, r.hours_per_unit, r.credits_per_unit, r.cap, r.cycle_years, " ".join(r.roles), r.unit)
                + (r.text, c.who_attests, c.rounding)
                for r in rules.values()
            ],
        ),
        "credits.csv": _csv(
            [
                "member_id",
                "name",
                "minutes_counted_in_period",
                "audit_gaps_in_period",
                "cycle_start",
                "cycle_end",
                "cycle_minutes_counted",
                "cycle_units",
                "cycle_credits_before_cap",
                "cycle_credits",
                "unit",
                "cap",
                "capped",
                "cycle_start_set_by_member",
                "rule_id",
                "rule",
            ],
            [
                (m.member, m.name, m.minutes, len(m.gaps), y.start, y.end, y.minutes, y.units, y.earned, y.credits, m.rule.unit, m.rule.cap, y.capped)
                + (m.cycle_start_set, m.rule.id, m.rule.text)
                for m in c.members
                for y in m.cycles
            ],
        ),
        "credit_meetings.csv": _csv(
            [
                "member_id",
                "name",
                "meeting_id",
                "at",
                "title",
                "member_attested_minutes",
                "countersigned_minutes",
                "countersigned_by",
                "countersigner_role",
                "counted_minutes",
                "missing_for_an_audit",
                "rule_id",
            ],
            [
                (m.member, m.name, r.meeting, r.at, r.title, _opt(r.own_minutes), _opt(r.countersigned_minutes), r.countersigned_by, r.countersigner_role)
                + (r.counted_minutes, r.missing, m.rule.id)
                for m in c.members
                for r in m.meetings
            ],
        ),
    }


def _opt(n: int | None) -> object:
    return "" if n is None else n


def _agreement_tables(s: Summary) -> dict[str, bytes]:
    a = s.agreement
    if a is None:
        return {"agreement.csv": _csv(["field", "value"], [("version", "")])}
    fields: list[tuple[str, object]] = [
        ("version", a.version),
        ("digest_sha256_hex", a.digest),
        ("proposed_by", a.proposed_by),
        ("proposed_on", a.proposed_on),
        ("earlier_versions", a.earlier_versions),
        ("signatures", len(a.signatures)),
        ("still_to_sign", len(a.missing)),
        ("signatures_not_matching_the_text", a.refused),
    ]
    fields += [(f"section:{sec.key}", sec.text) for sec in a.sections]
    return {
        "agreement.csv": _csv(["field", "value"], fields),
        "agreement_signatures.csv": _csv(
            ["name", "status", "date_signers_clock", "conflict_of_interest", "member_id"],
            [(x.name, "signed", x.date, x.coi or "none declared", x.member) for x in a.signatures] + [(n, "still to sign", "", "", "") for n in a.missing],
        ),
    }


def _goal_tables(s: Summary) -> dict[str, bytes]:
    g = s.goals
    assert g is not None
    return {
        "goals.csv": _csv(
            ["goal_id", "owner_id", "owner", "title", "domain", "measure", "target", "status", "latest_progress", "latest_check_in_on"],
            [(x.id, x.owner_id, x.owner, x.title, x.domain, x.measure, x.target, x.status, _opt(x.progress), x.progress_on) for x in g.goals],
        ),
        "goal_evidence.csv": _csv(
            ["goal_id", "owner_id", "title", "on", "checked_in_by", "progress", "evidence"],
            [(x.id, x.owner_id, x.title, e.on, e.author, e.progress, e.evidence) for x in g.goals for e in x.evidence],
        ),
    }


def render_zip(s: Summary) -> bytes:
    """Every table in one zip."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in tables(s).items():
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            z.writestr(info, data)
    return buf.getvalue()


def write_folder(rendered: dict[str, bytes], folder: Path) -> list[Path]:
    """Every table (as :func:`tables` renders them) as its own file in ``folder`` (created); returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, data in rendered.items():
        path = folder / name
        atomic_write(path, data)  # 0600, as the zip's members are
        out.append(path)
    return out
