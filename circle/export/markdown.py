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

import re

from circle.export.summary import ROLE_NAMES, Summary

_INLINE = re.compile(r"([\\`*_\[\]{}|~#!])")
_BLOCK_START = re.compile(r"^(\s*)([-+=>]|\d{1,9}[.)])")
_URL = re.compile(r"(?i)(://|\bwww\.)")


def inline(text: str) -> str:
    """One line of member text, inert in Markdown."""
    text = _INLINE.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _URL.sub(lambda m: ":\\/\\/" if m.group(1) == "://" else m.group(1)[:3] + "\\.", text)
    text = _BLOCK_START.sub(lambda m: "\\" + m.group(2) if not m.group(2)[0].isdigit() else m.group(2)[:-1] + "\\" + m.group(2)[-1], text.lstrip())
    return text.replace("\n", " ")


def paragraph(text: str, indent: str = "") -> str:
    """Member text that may span lines, inert in Markdown; lines after the first are indented to stay in their list item."""
    lines = [inline(part) for part in text.split("\n")]
    lines = [ln for ln in lines if ln] or [""]
    return ("\\\n" + indent).join(lines)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def render(s: Summary) -> str:
    """The export as Markdown (UTF-8 text, ``\\n`` line ends)."""
    out: list[str] = []
    w = out.append
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
    return "\n".join(out)


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


def _hours(minutes: int) -> str:
    h, mm = divmod(minutes, 60)
    return f"{h} h {mm:02d} min"
