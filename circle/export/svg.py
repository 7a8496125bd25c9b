"""Small, deterministic SVG charts for exports: no scripts, no external references, every label escaped.

A maintained chart library (pygal) was the other choice; it draws with
scripts and external stylesheets by default and gives every chart a random
id, so its output changes from run to run and a golden file cannot hold it.
These two charts are all an export needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape as _xml_escape


def escape(text: str) -> str:
    """Text for an SVG text node or attribute value (quotes too)."""
    return _xml_escape(text, {'"': "&quot;", "'": "&#39;"})


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def attendance_over_time(points: Sequence[tuple[str, int, int]], *, width: int = 640, height: int = 220, title: str = "Attendance over time") -> str:
    """Bars of how many were present at each meeting, against how many could have been.

    Args:
        points: (label, present, expected) per meeting, oldest first; the label is a date.
        width, height: the drawing's size in user units (it scales to its container).
        title: the chart's accessible title.
    """
    left, right, top, bottom = 36, 8, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = max([1, *(max(p, e) for _, p, e in points)])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" aria-labelledby="chart-title" class="chart">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#555" stroke-width="1"/>',
    ]
    for tick in sorted({0, top_value // 2, top_value}):
        y = top + plot_h - plot_h * tick / top_value
        parts.append(f'<line x1="{left}" y1="{_num(y)}" x2="{left + plot_w}" y2="{_num(y)}" stroke="#ddd" stroke-width="0.5"/>')
        parts.append(f'<text x="{left - 4}" y="{_num(y + 3)}" font-size="9" text-anchor="end" fill="#333">{tick}</text>')
    if not points:
        parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{top + plot_h / 2:.0f}" font-size="11" text-anchor="middle" fill="#333">No meetings held</text>')
    n = len(points)
    slot = plot_w / max(n, 1)
    bar = max(2.0, min(28.0, slot * 0.7))
    label_every = max(1, (n + 11) // 12)
    for i, (label, present, expected) in enumerate(points):
        x = left + slot * i + (slot - bar) / 2
        h_exp = plot_h * expected / top_value
        h_pre = plot_h * present / top_value
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(top + plot_h - h_exp)}" width="{_num(bar)}" height="{_num(h_exp)}" fill="#e3e8ef">'
            f"<title>{escape(label)}: {present} of {expected} present</title></rect>"
        )
        parts.append(f'<rect x="{_num(x)}" y="{_num(top + plot_h - h_pre)}" width="{_num(bar)}" height="{_num(h_pre)}" fill="#2f6690"/>')
        if i % label_every == 0:
            cx = x + bar / 2
            parts.append(
                f'<text x="{_num(cx)}" y="{top + plot_h + 12}" font-size="8" text-anchor="end" fill="#333" '
                f'transform="rotate(-35 {_num(cx)} {top + plot_h + 12})">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(rows: Sequence[tuple[str, int, int]], *, width: int = 640, title: str = "Meetings attended per member") -> str:
    """One bar per row: (label, value, out of). Labels are member names, escaped."""
    row_h, left, right, top = 18, 170, 70, 6
    height = top * 2 + row_h * max(1, len(rows))
    plot_w = width - left - right
    most = max([1, *(total for _, _, total in rows)])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" aria-labelledby="bars-title" class="chart">',
        f'<title id="bars-title">{escape(title)}</title>',
    ]
    for i, (label, value, total) in enumerate(rows):
        y = top + row_h * i
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(f'<text x="{left - 6}" y="{y + 12}" font-size="10" text-anchor="end" fill="#222">{escape(short)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{_num(plot_w * total / most)}" height="12" fill="#e3e8ef"/>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{_num(plot_w * value / most)}" height="12" fill="#2f6690"/>')
        parts.append(f'<text x="{_num(left + plot_w * total / most + 4)}" y="{y + 12}" font-size="10" fill="#222">{value} of {total}</text>')
    parts.append("</svg>")
    return "".join(parts)
