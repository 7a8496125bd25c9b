"""PDF with fpdf2: the summary, then an attendance certificate per member for the period.

Names like "Ana Tūhoe" and "李小龙" need a Unicode font embedded in the file:
DejaVu Sans (Debian's fonts-dejavu-core) for Latin, Greek and Cyrillic, and
Droid Sans Fallback (fonts-droid-fallback) for Chinese, Japanese and Korean
when the text holds any. Both are subset, so only the glyphs used are
embedded. A character neither font has prints as ``□`` and the PDF's
manifest says how many there were, rather than dropping them silently.

Member text is never markup here: every cell is written with fpdf2's plain
text calls (``markdown=False``), and fpdf2 escapes PDF string syntax itself.
Certificates print the signer's fingerprint, to compare with the signature
file and with one known from elsewhere.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import TTFFont

from circle.errors import NotFound
from circle.export.summary import ROLE_NAMES, Summary
from circle.models.credits import amount

if TYPE_CHECKING:
    from circle.export.certificate import Certificate

FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/local/share/fonts"), Path.home() / ".local/share/fonts")
MAIN_FONTS = {"": "dejavu/DejaVuSans.ttf", "B": "dejavu/DejaVuSans-Bold.ttf"}
CJK_FONT = "droid/DroidSansFallbackFull.ttf"
MISSING = "\u25a1"  # □
INK = (27, 27, 27)
ACCENT = (23, 55, 83)
MUTED = (90, 90, 90)


def _find(rel: str) -> Path | None:
    env = os.environ.get("CIRCLE_FONT_DIR")
    for base in ([Path(env)] if env else []) + list(FONT_DIRS):
        p = base / rel
        if p.is_file():
            return p
        alt = base / Path(rel).name
        if alt.is_file():
            return alt
    return None


def _cell(pdf: FPDF, w: float, h: float, text: str, **kwargs) -> None:  # noqa: ANN003
    """``pdf.cell`` with the CJK fallback font on only when ``text`` needs it (fpdf2 checks every character when it is on)."""
    pdf._fallback_font_ids = pdf._cjk_ids if pdf._cjk_ids and not pdf._main_chars.issuperset(text) else []  # type: ignore[attr-defined]
    pdf.cell(w, h, text, **kwargs)


def _line(pdf: FPDF, x: float, y: float, w: float, h: float, text: str, align: str = "L") -> None:
    """One line of text in a box at (x, y): ``pdf.text`` (4x faster than a cell) when the main font has every glyph, else a cell with the fallback."""
    if not pdf._main_chars.issuperset(text):  # type: ignore[attr-defined]
        pdf.set_xy(x, y)
        _cell(pdf, w, h, text, align=align)
        return
    if align != "L":
        width = _width(pdf, pdf._widths, (pdf.font_family, pdf.font_style, pdf.font_size_pt), text)  # type: ignore[attr-defined]
        x += (w - width) / 2 if align == "C" else w - width
    pdf.text(x, y + h / 2 + pdf.font_size * 0.35, text)


@functools.lru_cache(maxsize=8)
def _cjk_subset(path: Path, codepoints: frozenset[int]) -> tuple[bytes, frozenset[int]]:
    """A TrueType font with only those of ``codepoints`` the font at ``path`` has (kept in memory, never on disk), and which those are."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.notdef_outline = True
    options.recalc_timestamp = False
    options.name_IDs = ["*"]
    options.layout_features = []
    with TTFont(str(path), lazy=True, recalcTimestamp=False) as font:
        covered = frozenset(codepoints & set(font.getBestCmap()))
        if not covered:
            return b"", covered
        cutter = subset.Subsetter(options)
        cutter.populate(unicodes=sorted(covered))
        cutter.subset(font)
        out = io.BytesIO()
        font.save(out)
    return out.getvalue(), covered


class _Doc(FPDF):
    def __init__(self, s: Summary, fingerprint: str, missing: list[int]) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.s = s
        self.signer_fp = fingerprint
        self.missing = missing
        self.set_auto_page_break(True, margin=18)
        self.set_margins(18, 16, 18)
        self.certificate = False
        self._widths: dict = {}

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("main", size=7.5)
        self.set_text_color(*MUTED)
        left = self.s.charter.name if not self.certificate else "Attendance certificate"
        _cell(self, 0, 5, f"{_fit(left, 70)} · exported {self.s.generated_at}", new_x=XPos.LMARGIN, new_y=YPos.TOP)
        self.cell(0, 5, f"page {self.page_no()}", align="R")


def _fit(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _main_fonts() -> dict[str, Path]:
    main = {style: _find(rel) for style, rel in MAIN_FONTS.items()}
    if main[""] is None or main["B"] is None:
        raise NotFound("no Unicode font for the PDF", "install DejaVu Sans (Debian: apt-get install fonts-dejavu-core) or set CIRCLE_FONT_DIR")
    return main  # type: ignore[return-value]


def _fonts(pdf: FPDF, main: dict[str, Path], chars: set[str]) -> Callable[[str], str]:
    """Embed the fonts ``chars`` need; returns what prints a string (a character no font has becomes ``□``, counted in ``pdf.missing``)."""
    pdf.add_font("main", "", str(main[""]))
    pdf.add_font("main", "B", str(main["B"]))
    have = frozenset(pdf.fonts["main"].cw)  # the code points DejaVu Sans has a glyph for
    need = frozenset(cp for cp in map(ord, chars) if cp not in have and not chr(cp).isspace())
    cjk = _find(CJK_FONT) if need else None
    covered: frozenset[int] = frozenset()
    pdf._fallback_cw = {}
    pdf._main_chars = frozenset(map(chr, have))
    pdf._cjk_ids = []
    if cjk is not None:
        # Only the glyphs this export uses, cut from the 4 MB font in memory: fpdf2 would parse and subset it whole.
        data, covered = _cjk_subset(cjk, need)
        if covered:
            pdf.fonts["cjk"] = TTFFont(pdf, io.BytesIO(data), "cjk", "")
            pdf.set_fallback_fonts(["cjk"], exact_match=False)
            pdf._fallback_cw = pdf.fonts["cjk"].cw
            pdf._cjk_ids = list(pdf._fallback_font_ids)
            pdf._fallback_font_ids = []  # switched on only for lines that need it (see _cell): fpdf2 is fast without
    missing = sorted(need - covered)
    pdf.missing = missing
    pdf.set_text_shaping(False)
    gone = {chr(cp) for cp in missing}

    def t(text: str) -> str:
        return "".join(MISSING if ch in gone else ch for ch in text) if gone else text

    return t


def render(s: Summary, *, signer_name: str, fingerprint: str, certificates: bool = True) -> bytes:
    """The export as PDF bytes (deterministic for the same summary and signer)."""
    main = _main_fonts()
    pdf = _Doc(s, fingerprint, [])
    pdf.set_creation_date(dt.datetime.strptime(s.generated_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC))
    pdf.set_title(s.title)
    pdf.set_author(signer_name)
    pdf.set_subject(f"circle export, period: {s.period}")
    pdf.set_creator("circle export")
    pdf.set_producer("circle export (fpdf2)")
    t = _fonts(pdf, main, _characters(s, signer_name))
    _summary_pages(pdf, s, t)
    if certificates and s.kind == "summary":
        pdf.certificate = True
        for a in s.attendance:
            if a.held:
                _certificate(pdf, s, a, signer_name, fingerprint, t)
    _manifest(pdf, s, t)
    return bytes(pdf.output())


def _characters(s: Summary, signer: str) -> set[str]:
    """Every character the export prints (its notes read back one at a time, never all held at once)."""
    chars: set[str] = set()
    for part in _texts(s, signer):
        chars.update(part)
    return chars


def _texts(s: Summary, signer: str) -> Iterator[str]:
    yield from (signer, s.title, s.exporter, s.charter.purpose, s.charter.confidentiality, s.charter.feedback_norms)
    yield from (p.name + p.profession for p in s.members)
    for m in s.meetings:
        yield from (m.title, m.facilitator, *m.present, *m.absent, *m.unmarked, *m.anonymous_lines)
        yield from (i.title + i.owner for i in m.items)
        yield from (n.text + n.author + n.item for n in m.notes)
        yield from (a.title + a.owner + a.due for a in m.actions)
    yield from (a.title + a.owner + a.due for a in s.open_actions)
    yield from (t.facilitated_by + t.rostered + t.note for t in s.rota)
    if s.credits is not None:
        yield s.credits.rule_in_force.text
        for m in s.credits.members:
            yield from (m.name, m.rule.text, m.rule.unit, *(r.title + r.countersigned_by + r.missing for r in m.meetings))
    if s.agreement is not None:
        a = s.agreement
        yield from (a.proposed_by, *a.missing, *(x.text for x in a.sections), *(x.name + x.coi for x in a.signatures))
    if s.goals is not None:
        for g in s.goals.goals:
            yield from (g.owner, g.title, g.measure, g.target, *(e.author + e.evidence for e in g.evidence))


def _h1(pdf: FPDF, text: str) -> None:
    _para(pdf, text, 17, bold=True, color=ACCENT)


def _h2(pdf: FPDF, text: str) -> None:
    if pdf.get_y() > pdf.h - 60:
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font("main", "B", 12.5)
    pdf.set_text_color(*ACCENT)
    pdf.cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.4)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(1.5)
    pdf.set_text_color(*INK)


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """Lines of ``text`` that fit ``width`` in the current font (fpdf2's own breaking is quadratic in a line's length)."""
    cache = pdf._widths  # type: ignore[attr-defined]
    key = (pdf.font_family, pdf.font_style, pdf.font_size_pt)
    space = _width(pdf, cache, key, " ")
    out: list[str] = []
    for para in text.split("\n"):
        line: list[str] = []
        used = 0.0
        for word in para.split(" "):
            w = _width(pdf, cache, key, word)
            while w > width and word:  # a word longer than the line: cut it where it fits
                if line:
                    out.append(" ".join(line))
                    line, used = [], 0.0
                n = max(1, int(len(word) * width / w))
                while n > 1 and _width(pdf, cache, key, word[:n]) > width:
                    n -= 1
                out.append(word[:n])
                word = word[n:]
                w = _width(pdf, cache, key, word)
            extra = w + (space if line else 0.0)
            if line and used + extra > width:
                out.append(" ".join(line))
                line, used = [word], w
            else:
                line.append(word)
                used += extra
        out.append(" ".join(line))
    return out


def _width(pdf: FPDF, cache: dict, key: tuple, word: str) -> float:  # noqa: ANN001
    """A word's width in the current font, from the fonts' own glyph widths (fpdf2's get_string_width parses every character first)."""
    k = (key, word)
    w = cache.get(k)
    if w is None:
        main = pdf.current_font.cw
        fallback = pdf._fallback_cw  # type: ignore[attr-defined]
        units = 0.0
        for ch in word:
            o = ord(ch)
            units += main[o] if o in main else fallback.get(o, 1000)
        w = cache[k] = units * pdf.font_size_pt * 0.001 / pdf.k
    return w


def _para(pdf: FPDF, text: str, size: float = 9.5, bold: bool = False, color: tuple[int, int, int] = INK, indent: float = 0, align: str = "L") -> None:
    pdf.set_font("main", "B" if bold else "", size)
    pdf.set_text_color(*color)
    height = size * 0.5
    width = pdf.w - pdf.l_margin - pdf.r_margin - indent
    for line in _wrap(pdf, text, width):
        if pdf.get_y() + height > pdf.h - pdf.b_margin:
            pdf.add_page()
            pdf.set_font("main", "B" if bold else "", size)
            pdf.set_text_color(*color)
        _line(pdf, pdf.l_margin + indent, pdf.get_y(), width, height, line, align)
        pdf.set_y(pdf.get_y() + height)
    pdf.set_text_color(*INK)


def _table(pdf: FPDF, header: list[str], rows: Iterable[list[str]], widths: tuple[int, ...]) -> None:
    """A plain table: a bold header, then rows with wrapped cells and a rule under each."""
    total = pdf.w - pdf.l_margin - pdf.r_margin
    cols = [total * w / sum(widths) for w in widths]
    line_h, pad = 4.0, 1.0

    def row(cells: list[str], bold: bool) -> None:
        pdf.set_font("main", "B" if bold else "", 8.5)
        wrapped = [_wrap(pdf, c, w - 2 * pad) for c, w in zip(cells, cols, strict=True)]
        height = max(len(x) for x in wrapped) * line_h + pad
        if pdf.get_y() + height > pdf.h - pdf.b_margin:
            pdf.add_page()
        y, x = pdf.get_y(), pdf.l_margin
        if bold:
            pdf.set_fill_color(238, 242, 246)
            pdf.rect(pdf.l_margin, y, total, height, style="F")
        for lines, w in zip(wrapped, cols, strict=True):
            for k, ln in enumerate(lines):
                _line(pdf, x + pad, y + pad / 2 + k * line_h, w - 2 * pad, line_h, ln)
            x += w
        pdf.set_draw_color(201, 209, 218)
        pdf.set_line_width(0.2)
        pdf.line(pdf.l_margin, y + height, pdf.l_margin + total, y + height)
        pdf.set_xy(pdf.l_margin, y + height)

    row(header, True)
    for r in rows:
        row(list(r), False)
    pdf.ln(2)


def _summary_pages(pdf: _Doc, s: Summary, t) -> None:  # noqa: ANN001
    pdf.add_page()
    _h1(pdf, t(s.title))
    _para(pdf, t(f"Exported by {s.exporter} on {s.generated_at} · period: {s.period}"), 9, color=MUTED)
    if s.kind == "summary":
        _h2(pdf, "Charter")
        c = s.charter
        for label, value in (
            ("Purpose", c.purpose),
            ("Cadence", f"{c.cadence}, {c.meeting_minutes} minutes"),
            ("Confidentiality", c.confidentiality),
            ("Feedback norms", c.feedback_norms),
        ):
            _para(pdf, label, 9, bold=True)
            _para(pdf, t(value) or "—", 9, indent=4)
        _agreement(pdf, s, t)
        _h2(pdf, "Roster")
        _table(
            pdf,
            ["Member", "Role", "Profession"],
            ([t(p.name) + (" (away)" if p.away else ""), ROLE_NAMES.get(p.role, p.role), t(p.profession) or "—"] for p in s.members),
            (3, 2, 4),
        )
        _h2(pdf, "Attendance")
        _bars(pdf, [(m.at[:10], len(m.present), len(m.present) + len(m.absent) + len(m.unmarked)) for m in s.held])
        _table(
            pdf,
            ["Member", "Present", "Absent", "Not marked", "Meeting time", "Facilitated"],
            ([t(a.name), f"{a.present} of {a.held}", str(a.absent), str(a.unmarked), _hours(a.minutes_present), str(a.facilitated)] for a in s.attendance),
            (4, 2, 2, 2, 2, 2),
        )
        _para(pdf, "Meeting time is the scheduled length of each meeting attended; it is not an attested credit.", 8, color=MUTED)
        _credits(pdf, s, t)
        _goals(pdf, s, t)
        _h2(pdf, "Meetings")
    for m in s.meetings:
        if pdf.get_y() > pdf.h - 60:
            pdf.add_page()
        pdf.ln(1.5)
        _para(pdf, t(f"{m.at}{' — ' + m.title if m.title else ''}"), 10.5, bold=True, color=ACCENT)
        _para(pdf, t(f"{m.state} · {m.minutes} minutes · facilitator: {m.facilitator or 'nobody eligible'}"), 8.5, color=MUTED)
        if m.state != "cancelled":
            _para(pdf, t(f"Present ({len(m.present)}): {', '.join(m.present) or '—'}"), 8.5)
            if m.absent:
                _para(pdf, t(f"Absent ({len(m.absent)}): {', '.join(m.absent)}"), 8.5)
            if m.unmarked:
                _para(pdf, t(f"Not marked ({len(m.unmarked)}): {', '.join(m.unmarked)}"), 8.5)
        for n, i in enumerate(m.items, 1):
            carried = " (carried over)" if i.carried_in else ""
            _para(pdf, t(f"{n}. {i.title}{carried} — {i.owner or 'nobody'}, {i.minutes} min · {i.outcome.upper()}"), 8.5, indent=2)
            for note in i.notes:
                label = "Decision" if note.kind == "decision" else "Note"
                _para(pdf, t(f"{label} ({note.author}): {note.text}"), 8, indent=7)
        for note in (x for x in m.notes if not x.item):
            label = "Decision" if note.kind == "decision" else "Note"
            _para(pdf, t(f"{label} ({note.author}): {note.text}"), 8, indent=2)
        for a in m.actions:
            due = f", due {a.due}" if a.due else ""
            _para(pdf, t(f"Action: {a.title} ({a.owner or 'nobody'}{due}) · {a.status}"), 8, indent=2)
        if m.anonymous_count:
            _para(
                pdf,
                f"Anonymous round: {m.anonymous_count} line{'s' if m.anonymous_count != 1 else ''}{'' if m.anonymous_lines else ' (text not included)'}",
                8,
                indent=2,
            )
            for line in m.anonymous_lines:
                _para(pdf, t(f"• {line}"), 8, indent=7)
    if s.kind == "summary":
        _h2(pdf, "Facilitation history")
        if s.rota:
            _table(
                pdf,
                ["Meeting", "Facilitated by", "Rostered", "State"],
                ([x.at, t(x.facilitated_by) or "nobody eligible", t(x.rostered) or "—", "facilitated" if x.held else "upcoming"] for x in s.rota),
                (3, 4, 4, 2),
            )
        else:
            _para(pdf, "No turns in this period.")
    _h2(pdf, "Open actions")
    if s.open_actions:
        _table(
            pdf,
            ["Action", "Owner", "Due", "From"],
            ([t(a.title), t(a.owner) or "nobody", t(a.due) or "—", a.meeting_at[:10] or "—"] for a in s.open_actions),
            (6, 3, 2, 2),
        )
    else:
        _para(pdf, "None.")


def _agreement(pdf: _Doc, s: Summary, t) -> None:  # noqa: ANN001
    """The charter agreement: its text, digest, signatures with their declarations, who is still to sign."""
    _h2(pdf, "Charter agreement")
    a = s.agreement
    if a is None:
        _para(pdf, "No charter agreement yet.")
        return
    n = len(a.signatures)
    signed = f"signed by all {n} members" if a.signed_by_all else f"{n} signature{'s' if n != 1 else ''}, {len(a.missing)} still to sign"
    earlier = f"{a.earlier_versions} earlier version{'s' if a.earlier_versions != 1 else ''}"
    _para(pdf, t(f"Version {a.version} ({earlier}) · proposed by {a.proposed_by} on {a.proposed_on} · {signed}"), 9, color=MUTED)
    _para(pdf, f"Digest of the text (SHA-256, hex): {a.digest}", 8.5)
    for sec in a.sections:
        _para(pdf, sec.title, 9, bold=True)
        _para(pdf, t(sec.text) or "—", 9, indent=4)
    pdf.ln(1)
    if a.signatures:
        _table(
            pdf,
            ["Signed by", "Date (signer's clock)", "Conflict of interest declared"],
            ([t(x.name), x.date, t(x.coi) or "none declared"] for x in a.signatures),
            (3, 2, 6),
        )
    else:
        _para(pdf, "Nobody has signed this version yet.", 9)
    if a.missing:
        _para(pdf, t("Still to sign: " + ", ".join(a.missing)), 9)
    if a.refused:
        _para(pdf, a.refused_text, 9, bold=True)


def _credits(pdf: _Doc, s: Summary, t) -> None:  # noqa: ANN001
    """Credits: how hours count, the rule in force, each member's figures beside their rule, then each member's meetings."""
    c = s.credits
    if c is None:
        return
    _h2(pdf, "Credits")
    _para(pdf, c.who_attests, 9)
    pdf.ln(1)
    _para(pdf, t(f"Credit rule in force: {c.rule_in_force.text}"), 9, bold=True)
    pdf.ln(1)
    rows = []
    for m in c.members:
        for k, y in enumerate(m.cycles):
            cap = f" of at most {m.rule.cap}" if m.rule.cap != "0" else ""
            capped = " (cap reached)" if y.capped else ""
            first = k == 0
            rows.append(
                [
                    t(m.name) if first else "",
                    _hours(m.minutes) if first else "",
                    f"{y.start}–{y.end}",
                    _hours(y.minutes),
                    t(f"{amount(y.credits, m.rule.unit)}{cap}{capped}"),
                    str(len(m.gaps)) if first else "",
                    t(m.rule.text),
                ]
            )
    _table(pdf, ["Member", "In this period", "Cycle", "In the cycle", "Credits", "Audit gaps", "Rule"], rows, (3, 2, 2, 2, 3, 2, 6))
    _para(
        pdf,
        f"Cycle figures count every attested hour in the cycle recorded by the export date, also outside this period. Rounding: {c.rounding}.",
        8,
        color=MUTED,
    )
    for m in c.members:
        if not m.meetings:
            continue
        if pdf.get_y() > pdf.h - 50:
            pdf.add_page()
        pdf.ln(1.5)
        _para(pdf, t(m.name), 10, bold=True, color=ACCENT)
        start = "set by the member" if m.cycle_start_set else "from the first counted hour"
        _para(pdf, t(f"Cycle start {start} · rule: {m.rule.text}"), 8, color=MUTED)
        for r in m.meetings:
            title = f" {r.title}" if r.title else ""
            if r.missing:
                line = f"{r.at}{title}: missing for an audit: {r.missing}"
            else:
                line = (
                    f"{r.at}{title}: {r.counted_minutes} min counted (member attested {r.own_minutes} min; "
                    f"countersigned {r.countersigned_minutes} min by {r.countersigned_by}, {r.countersigner_role})"
                )
            _para(pdf, t(line), 8, indent=2)


def _goals(pdf: _Doc, s: Summary, t) -> None:  # noqa: ANN001
    """Goals shared with the cohort: each with its owner, measure, target, status and latest progress; then the evidence in the period."""
    g = s.goals
    if g is None:
        return
    _h2(pdf, "Goals shared with the cohort")
    _para(pdf, g.about, 9)
    pdf.ln(1)
    if not g.goals:
        _para(pdf, "No goals shared with the cohort.", 9)
        return
    _table(
        pdf,
        ["Owner", "Goal", "Domain", "Measure", "Target", "Status", "Latest progress"],
        (
            [
                t(x.owner),
                t(x.title),
                x.domain,
                t(x.measure),
                t(x.target),
                x.status,
                "no check-in yet" if x.progress is None else f"{x.progress}% on {x.progress_on}",
            ]
            for x in g.goals
        ),
        (6, 8, 5, 8, 5, 5, 5),
    )
    for x in g.goals:
        if not x.evidence:
            continue
        if pdf.get_y() > pdf.h - 40:
            pdf.add_page()
        pdf.ln(1)
        _para(pdf, t(f"{x.title} ({x.owner}): evidence in this period"), 9.5, bold=True, color=ACCENT)
        for e in x.evidence:
            _para(pdf, t(f"{e.on}, {e.author}, {e.progress}%: {e.evidence}"), 8, indent=2)


def _manifest(pdf: _Doc, s: Summary, t) -> None:  # noqa: ANN001
    """The last part of every PDF: what the export leaves out, and why."""
    if pdf.certificate:
        pdf.add_page()  # the last certificate's footer is drawn here, still as a certificate's
        pdf.certificate = False
    _h2(pdf, "What this export leaves out")
    for o in s.left_out:
        _para(pdf, f"• {t(o.text)}", 8.5)
    for o in s.not_in_this_version:
        _para(pdf, f"• Not in this version: {o.text}", 8.5)
    if pdf.missing:
        _para(pdf, f"• {len(pdf.missing)} character(s) had no glyph in the embedded fonts and print as {MISSING}.", 8.5)


def _bars(pdf: FPDF, points: list[tuple[str, int, int]]) -> None:
    """Attendance over time as bars drawn with the PDF's own shapes (the HTML draws the same as SVG)."""
    if not points:
        return
    x0, width, height = pdf.l_margin + 8, pdf.w - pdf.l_margin - pdf.r_margin - 8, 32
    if pdf.get_y() + height + 14 > pdf.h - 18:
        pdf.add_page()
    y0 = pdf.get_y() + 2
    top = max(1, *(max(p, e) for _, p, e in points))
    slot = width / len(points)
    bar = max(0.8, min(8.0, slot * 0.7))
    pdf.set_font("main", "", 6.5)
    pdf.set_text_color(*MUTED)
    for tick in sorted({0, top}):
        y = y0 + height - height * tick / top
        pdf.text(pdf.l_margin + 2, y + 1, str(tick))
    pdf.set_draw_color(120, 120, 120)
    pdf.line(x0, y0 + height, x0 + width, y0 + height)
    every = max(1, (len(points) + 11) // 12)
    for i, (label, present, expected) in enumerate(points):
        x = x0 + slot * i + (slot - bar) / 2
        pdf.set_fill_color(227, 232, 239)
        pdf.rect(x, y0 + height - height * expected / top, bar, height * expected / top, style="F")
        pdf.set_fill_color(47, 102, 144)
        pdf.rect(x, y0 + height - height * present / top, bar, height * present / top, style="F")
        if i % every == 0:
            pdf.text(x, y0 + height + 4, label[5:])
    pdf.set_text_color(*INK)
    pdf.set_y(y0 + height + 7)
    _para(pdf, "Present at each meeting held (dark) of the members expected (light).", 7.5, color=MUTED)


def _certificate(pdf: _Doc, s: Summary, a, signer: str, fp: str, t) -> None:  # noqa: ANN001
    pdf.add_page()
    pdf.ln(18)
    _para(pdf, "Certificate of attendance", 22, bold=True, color=ACCENT, align="C")
    pdf.ln(6)
    _para(pdf, "This is to record that", 11, align="C")
    pdf.ln(2)
    _para(pdf, t(a.name), 18, bold=True, align="C")
    if a.profession:
        _para(pdf, t(a.profession), 10, align="C")
    pdf.ln(4)
    facilitated = f", and facilitated {a.facilitated} of them" if a.facilitated else ""
    role = ROLE_NAMES.get(a.role, a.role)
    _para(
        pdf,
        t(
            f"attended {a.present} of the {a.held} meetings held by {s.charter.name} ({_span(s)}), {_hours(a.minutes_present)} of scheduled meeting time, as a {role}{facilitated}."
        ),
        11,
        align="C",
    )
    pdf.ln(6)
    if a.attended:
        _para(pdf, "Meetings attended: " + ", ".join(a.attended), 9, color=MUTED, align="C")
    pdf.ln(10)
    _para(
        pdf,
        "Attendance is as marked in the cohort's shared record (by the member, the meeting's facilitator or a supervising mentor). "
        "Meeting time is the scheduled length of the meetings attended. This certificate awards no credits: credits count only hours attested by "
        "both the member and a mentor or facilitator, and are in the export's Credits section under the rule in force.",
        9,
        align="C",
    )
    pdf.ln(14)
    _para(pdf, t(f"Exported and signed by {signer} on {s.generated_at[:10]}"), 10, bold=True, align="C")
    _para(pdf, "Signer's fingerprint:", 10, align="C")
    _para(pdf, fp, 12, bold=True, align="C")
    _para(
        pdf,
        "Check this file with 'circle verify-export' and its .sig file, and compare the fingerprint with one you know for the signer from elsewhere.",
        8.5,
        color=MUTED,
        align="C",
    )


def _hours(minutes: int) -> str:
    h, m = divmod(minutes, 60)
    return f"{h}\u00a0h\u00a0{m:02d}\u00a0min"  # no-break spaces: a duration never splits across lines


def _span(s: Summary) -> str:
    """The period a certificate covers, in words: the one asked for, else the first and last meetings held."""
    if s.period_from or s.period_to:
        return s.period
    held = s.held
    return f"{held[0].at[:10]} to {held[-1].at[:10]}" if held else "no meetings held"


class _ClosureDoc(FPDF):
    """A closure certificate's pages: one, or more when the agreement's goals are long."""

    def __init__(self, c: Certificate) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.c = c
        self.missing: list[int] = []
        self.set_auto_page_break(True, margin=18)
        self.set_margins(18, 16, 18)
        self._widths: dict = {}

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("main", size=7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"Closure certificate · exported {self.c.generated_at}", new_x=XPos.LMARGIN, new_y=YPos.TOP)
        self.cell(0, 5, f"page {self.page_no()}", align="R")


def render_certificate(c: Certificate, *, signer_name: str, fingerprint: str) -> bytes:
    """A closure certificate as PDF bytes (deterministic for the same certificate and signer); only what ``c`` holds is printed."""
    main = _main_fonts()
    pdf = _ClosureDoc(c)
    pdf.set_creation_date(dt.datetime.strptime(c.generated_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC))
    pdf.set_title(c.title)
    pdf.set_author(signer_name)
    pdf.set_subject("circle closure certificate")
    pdf.set_creator("circle export")
    pdf.set_producer("circle export (fpdf2)")
    a, b = c.parties
    g = c.agreement
    text = [signer_name, c.cohort, a.name, a.role, b.name, b.role, c.closure_note, c.exporter, c.standing, c.how_it_closed]
    if g is not None:
        text += [g.goals, g.status]
    t = _fonts(pdf, main, set("".join(text)))
    pdf.add_page()
    pdf.ln(12)
    _para(pdf, "Closure certificate", 22, bold=True, color=ACCENT, align="C")
    _para(pdf, "a mentoring relationship", 12, color=MUTED, align="C")
    pdf.ln(6)
    _para(pdf, "This is a record that the mentoring relationship between", 11, align="C")
    pdf.ln(2)
    _para(pdf, t(a.name), 16, bold=True, align="C")
    _para(pdf, t(a.role), 9.5, color=MUTED, align="C")
    _para(pdf, "and", 11, align="C")
    _para(pdf, t(b.name), 16, bold=True, align="C")
    _para(pdf, t(b.role), 9.5, color=MUTED, align="C")
    pdf.ln(2)
    if c.took_place:
        _para(pdf, t(f"in {c.cohort} took place from {c.period_from} to {c.period_to}, and closed (now: {c.phase})."), 11, align="C")
    else:  # what it lacked, said where the sentence would have said it took place and closed
        _para(pdf, t(f"in {c.cohort}, from {c.period_from} to {c.period_to}, {c.standing} (now: {c.phase})."), 11, align="C")
    _para(pdf, t(f"How it closed: {c.how_it_closed}."), 9.5, align="C")
    together = f"Cohort meetings both attended in that period: {c.meetings_together}"
    _para(pdf, together + (f" ({', '.join(c.meeting_days)})" if c.meeting_days else "") + ".", 9.5, align="C")
    pdf.ln(6)
    _h2(pdf, "Agreement")
    if g is None:
        _para(pdf, "The two members made no channel agreement.", 9.5)
    else:
        _para(pdf, t(f"Version {g.version}, {g.status}."), 9.5)
        _para(pdf, f"Digest of its text (SHA-256, hex): {g.digest}", 8.5, color=MUTED)
        _para(pdf, "Goals of the relationship", 9.5, bold=True)
        _para(pdf, t(g.goals) or "—", 9.5, indent=4)
    if c.closure_note:
        _h2(pdf, "Closure note")  # a heading is drawn without the fallback font: the name goes in the text
        _para(pdf, t(f"Written by {a.name}:"), 9, color=MUTED)
        _para(pdf, t(c.closure_note), 9.5)
    pdf.ln(6)
    _para(pdf, t(c.statement), 8.5, color=MUTED, align="C")  # it names a member when one closed alone
    _para(pdf, "Dates are by the writers' own device clocks.", 8.5, color=MUTED, align="C")
    pdf.ln(8)
    _para(pdf, t(f"Exported and signed by {c.exporter} on {c.generated_at[:10]}"), 10, bold=True, align="C")
    _para(pdf, "Signer's fingerprint:", 10, align="C")
    _para(pdf, fingerprint, 12, bold=True, align="C")
    _para(
        pdf,
        "Check this file with 'circle verify-export' and its .sig file, and compare the fingerprint with one you know for the signer from elsewhere.",
        8.5,
        color=MUTED,
        align="C",
    )
    if pdf.missing:
        _para(pdf, f"{len(pdf.missing)} character(s) had no glyph in the embedded fonts and print as {MISSING}.", 8, color=MUTED, align="C")
    return bytes(pdf.output())
