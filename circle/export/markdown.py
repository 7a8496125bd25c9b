"""Markdown for reading and sharing: member text escaped so it cannot make structure, links or HTML.

Every string a member wrote goes through :func:`inline` (one line) or
:func:`paragraph` (a note, which may span lines). Both backslash-escape the
characters CommonMark and GitHub's tables give meaning to inline (emphasis,
code, links and images, raw HTML and entities, table pipes, strikethrough);
``<``, ``>`` and ``&`` become entities so no renderer sees a tag or an
autolink. Each line of a note has its leading spaces removed (no indented
code block) and a leading block marker escaped (no heading, quote, list or
rule), and its line breaks become hard breaks inside the same list item.
Bare URLs (``https://``, ``www.``) are broken with an escape so GitHub's
autolinking does not turn them into links. The text reads the same.
"""

from __future__ import annotations

import io
import re

from circle.export.summary import ROLE_NAMES, Summary
from circle.models.credits import amount

_INLINE = re.compile(r"([\\`*_\[\]{}|~#!])")
_BLOCK_START = re.compile(r"^(\s*)([-+=>]|\d{1,9}[.)])")
_URL = re.compile(r"(?i)(://|\bwww\.)")
_URL_HINT = re.compile(r"[:wW](?://|[wW][wW]\.)")  # a superset of _URL's matches, found six times faster (a class first)


def inline(text: str) -> str:
    """One line of member text, inert in Markdown.

    Each step runs only where a quick look finds something for it: a
    whole-history export escapes 200k texts, and Python's regular expressions
    scan slowly for a pattern that starts with an alternation.
    """
    text = text.lstrip()
    if _INLINE.search(text):
        text = _INLINE.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if _URL_HINT.search(text):
        text = _URL.sub(lambda m: ":\\/\\/" if m.group(1) == "://" else m.group(1)[:3] + "\\.", text)
    if _BLOCK_START.match(text):
        text = _BLOCK_START.sub(lambda m: "\\" + m.group(2) if not m.group(2)[0].isdigit() else m.group(2)[:-1] + "\\" + m.group(2)[-1], text)
    return text.replace("\n", " ")


def paragraph(text: str, indent: str = "") -> str:
    """Member text that may span lines, inert in Markdown; lines after the first are indented to stay in their list item."""
    lines = [inline(part) for part in text.split("\n")]
    lines = [ln for ln in lines if ln] or [""]
    return ("\\\n" + indent).join(lines)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


class _Enough(Exception):
    """The text asked for is written (see ``limit``)."""


def render(s: Summary, limit: int | None = None) -> str:
    """The export as Markdown (UTF-8 text, ``\\n`` line ends).

    With ``limit``, writing stops at the line that takes the text past
    ``limit`` characters: what a preview shows of the whole, without the
    rest (a whole history of 100k events is about 85 MB of Markdown).
    """
    return encoded(s, limit).decode()


def encoded(s: Summary, limit: int | None = None) -> bytes:
    """:func:`render` in UTF-8, encoded line by line as it is written.

    Never the whole text as one string too: a whole history of 100k events is
    about 85 MB of Markdown, and a string twice that once one line has a "—".
    """
    out = io.BytesIO()  # grows as one buffer, handed back without a copy: a list of a million lines left 100 MB behind
    written = 0  # characters, the line ends counted

    def w(line: str) -> None:
        nonlocal written
        if written:
            out.write(b"\n")
        out.write(line.encode())
        written += len(line) + 1
        if limit is not None and written - 1 > limit:  # the text so far is longer than asked
            raise _Enough

    try:
        _write(w, s)
    except _Enough:
        pass
    return out.getvalue()


def _write(w, s: Summary) -> None:  # noqa: ANN001
    w(f"# {inline(s.title)}")
    w("")
    w(f"Exported by {inline(s.exporter)} on {s.generated_at} · period: {inline(s.period)}")
    w("")
    if s.kind == "summary":
        c = s.charter
        w("## Charter")
        w("")
        for label, value in (
            ("Purpose", c.purpose),
            ("Cadence", f"{c.cadence}, {c.meeting_minutes} minutes"),
            ("Confidentiality", c.confidentiality),
            ("Feedback norms", c.feedback_norms),
        ):
            w(f"- **{label}:** {paragraph(value, '  ') or '—'}")
        w("")
        _agreement(w, s)
        w("## Roster")
        w("")
        w("| Member | Role | Profession |")
        w("| --- | --- | --- |")
        for p in s.members:
            away = " (away)" if p.away else ""
            w(f"| {inline(p.name)}{away} | {ROLE_NAMES.get(p.role, inline(p.role))} | {inline(p.profession) or '—'} |")
        w("")
        w("## Attendance")
        w("")
        w("| Member | Present | Absent | Not marked | Meeting time attended | Facilitated |")
        w("| --- | ---: | ---: | ---: | ---: | ---: |")
        for a in s.attendance:
            w(f"| {inline(a.name)} | {a.present} of {a.held} | {a.absent} | {a.unmarked} | {_hours(a.minutes_present)} | {a.facilitated} |")
        w("")
        w("Meeting time is the scheduled length of each meeting attended; it is not an attested credit.")
        w("")
        _credits(w, s)
        _goals(w, s)
        w("## Meetings")
        w("")
    for m in s.meetings:
        _meeting(w, m, "###" if s.kind == "summary" else "##")
    if s.kind == "summary":
        w("## Facilitation history")
        w("")
        if not s.rota:
            w("No turns in this period.")
        for t in s.rota:
            moved = f" (rostered: {inline(t.rostered)})" if t.rostered and t.rostered != t.facilitated_by else ""
            note = f" · {inline(t.note)}" if t.note else ""
            state = "facilitated" if t.held else "upcoming"
            w(f"- {t.at}: {inline(t.facilitated_by) or 'nobody eligible'}{moved}, {state}{note}")
        w("")
    w("## Open actions")
    w("")
    if not s.open_actions:
        w("None.")
    for a in s.open_actions:
        due = f", due {inline(a.due)}" if a.due else ""
        w(f"- {inline(a.title)} ({inline(a.owner) or 'nobody'}{due}; from the meeting of {a.meeting_at or 'an unknown date'})")
    w("")
    w("## What this export leaves out")
    w("")
    for o in s.left_out:
        w(f"- {inline(o.text)}")
    for o in s.not_in_this_version:
        w(f"- Not in this version: {inline(o.text)}")
    w("")


def _meeting(w, m, h: str) -> None:  # noqa: ANN001
    title = f" — {inline(m.title)}" if m.title else ""
    w(f"{h} {m.at}{title}")
    w("")
    fac = inline(m.facilitator) or "nobody eligible"
    w(f"- **State:** {m.state} · {m.minutes} minutes")
    w(f"- **Facilitator:** {fac}")
    if m.state != "cancelled":
        w(f"- **Present ({len(m.present)}):** {', '.join(inline(n) for n in m.present) or '—'}")
        if m.absent:
            w(f"- **Absent ({len(m.absent)}):** {', '.join(inline(n) for n in m.absent)}")
        if m.unmarked:
            w(f"- **Not marked ({len(m.unmarked)}):** {', '.join(inline(n) for n in m.unmarked)}")
    w("")
    if m.items:
        w("**Agenda**")
        w("")
        for i in m.items:
            carried = " (carried over)" if i.carried_in else ""
            w(f"1. {inline(i.title)}{carried} — {inline(i.owner) or 'nobody'}, {i.minutes} min · **{i.outcome}**")
            for n in i.notes:
                label = "Decision" if n.kind == "decision" else "Note"
                w(f"   - {label} ({inline(n.author)}): {paragraph(n.text, '     ')}")
        w("")
    loose = [n for n in m.notes if not n.item]
    if loose:
        w("**Notes**")
        w("")
        for n in loose:
            label = "Decision" if n.kind == "decision" else "Note"
            w(f"- {label} ({inline(n.author)}): {paragraph(n.text, '  ')}")
        w("")
    if m.decisions:
        w("**Decisions**")
        w("")
        for n in m.decisions:
            w(f"- {paragraph(n.text, '  ')}")
        w("")
    if m.actions:
        w("**Actions**")
        w("")
        for a in m.actions:
            due = f", due {inline(a.due)}" if a.due else ""
            w(f"- [{'x' if a.status == 'done' else ' '}] {inline(a.title)} ({inline(a.owner) or 'nobody'}{due}) · {a.status}")
        w("")
    if m.anonymous_count:
        w(f"**Anonymous round:** {_count(m.anonymous_count, 'line')}{'' if m.anonymous_lines else ' (text not included)'}")
        w("")
        for line in m.anonymous_lines:
            w(f"- {inline(line)}")
        if m.anonymous_lines:
            w("")


def _agreement(w, s: Summary) -> None:  # noqa: ANN001
    a = s.agreement
    w("## Charter agreement")
    w("")
    if a is None:
        w("No charter agreement yet.")
        w("")
        return
    signed = f"signed by all {len(a.signatures)} members" if a.signed_by_all else f"{_count(len(a.signatures), 'signature')}, {len(a.missing)} still to sign"
    w(f"Version {a.version} ({_count(a.earlier_versions, 'earlier version')}) · proposed by {inline(a.proposed_by)} on {a.proposed_on} · {signed}")
    w("")
    w(f"Digest of the text (SHA-256, hex): {a.digest}")
    w("")
    for sec in a.sections:
        w(f"- **{sec.title}:** {paragraph(sec.text, '  ') or '—'}")
    w("")
    if a.signatures:
        w("| Signed by | Date (signer's clock) | Conflict of interest declared |")
        w("| --- | --- | --- |")
        for sig in a.signatures:
            w(f"| {inline(sig.name)} | {sig.date} | {inline(sig.coi) or 'none declared'} |")
        w("")
    else:
        w("Nobody has signed this version yet.")
        w("")
    if a.missing:
        w(f"**Still to sign:** {', '.join(inline(n) for n in a.missing)}")
        w("")
    if a.refused:
        w(inline(a.refused_text))
        w("")


def _credits(w, s: Summary) -> None:  # noqa: ANN001
    c = s.credits
    if c is None:
        return
    w("## Credits")
    w("")
    w(inline(c.who_attests))
    w("")
    w(f"**Credit rule in force:** {inline(c.rule_in_force.text)}")
    w("")
    w(f"Rounding: {inline(c.rounding)}.")
    w("")
    w("| Member | Counted in this period | Cycle | Counted in the cycle | Credits in the cycle | Audit gaps in this period | Rule |")
    w("| --- | ---: | --- | ---: | ---: | ---: | --- |")
    for m in c.members:
        for k, cy in enumerate(m.cycles):
            cap = f" of at most {m.rule.cap}" if m.rule.cap != "0" else ""
            capped = " (cap reached)" if cy.capped else ""
            first = k == 0
            w(
                f"| {inline(m.name) if first else ''} | {_hours(m.minutes) if first else ''} | {cy.start}–{cy.end} | {_hours(cy.minutes)} | "
                f"{inline(amount(cy.credits, m.rule.unit))}{cap}{capped} | {len(m.gaps) if first else ''} | {inline(m.rule.text)} |"
            )
    w("")
    w("Cycle figures count every attested hour in the cycle recorded by the export date, also outside this period; the cap applies per cycle.")
    w("")
    for m in c.members:
        if not m.meetings:
            continue
        start = "set by the member" if m.cycle_start_set else "from the first counted hour"
        w(f"**{inline(m.name)}** (cycle start {start}; rule: {inline(m.rule.text)})")
        w("")
        for r in m.meetings:
            title = f" {inline(r.title)}" if r.title else ""
            if r.missing:
                w(f"- {r.at}{title}: missing for an audit: {inline(r.missing)}")
            else:
                w(
                    f"- {r.at}{title}: {r.counted_minutes} min counted (member attested {r.own_minutes} min; "
                    f"countersigned {r.countersigned_minutes} min by {inline(r.countersigned_by)}, {inline(r.countersigner_role)})"
                )
        w("")


def _goals(w, s: Summary) -> None:  # noqa: ANN001
    g = s.goals
    if g is None:
        return
    w("## Goals shared with the cohort")
    w("")
    w(inline(g.about))
    w("")
    if not g.goals:
        w("No goals shared with the cohort.")
        w("")
        return
    w("| Owner | Goal | Domain | Measure | Target | Status | Latest progress |")
    w("| --- | --- | --- | --- | --- | --- | --- |")
    for x in g.goals:
        latest = f"{x.progress}% on {x.progress_on}" if x.progress is not None else "no check-in yet"
        w(f"| {inline(x.owner)} | {inline(x.title)} | {x.domain} | {inline(x.measure)} | {inline(x.target)} | {x.status} | {latest} |")
    w("")
    for x in g.goals:
        if not x.evidence:
            continue
        w(f"**{inline(x.title)}** ({inline(x.owner)}): evidence in this period")
        w("")
        for e in x.evidence:
            w(f"- {e.on}, {inline(e.author)}, {e.progress}%: {paragraph(e.evidence, '  ')}")
        w("")


def _hours(minutes: int) -> str:
    h, mm = divmod(minutes, 60)
    return f"{h} h {mm:02d} min"
