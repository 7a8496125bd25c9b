"""Text on a front page: what a screen showed, as plain data, and back as :class:`rich.text.Text`, checked.

A front page (:mod:`circle.store.frontpage`) holds what the home screen, the
cohort screen and the meeting room showed when circle last closed, so the
next start paints them before the cohort is folded. The screens write their
text here as ``[plain, spans]`` with spans ``[start, end, style]``, and read
it back through :func:`text_of`, which accepts only what a screen writes:
member text as :mod:`circle.widgets.member_text` cleaned it (no control
character but newlines) and styles made of a few words. It never parses
markup: ``[/]`` or ``[@click=app.quit]`` on a page shows as those characters.
A page that is not of that shape raises :class:`ValueError` (the screen then
ignores the whole page).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rich.text import Span, Text

from circle.models.text import clean

STYLES = ("bold", "dim", "italic", "reverse", "strike")  # the only style words the screens write on a page
_STYLE = re.compile(rf"(?:(?:{'|'.join(STYLES)})(?: (?:{'|'.join(STYLES)}))*)?")
ID_CHARS = 200  # a row's id (an event's or a member's, which a member may choose, or a screen's own row: "_carried", "_more"): never shown
MORE = "_more"


def text_data(t: Text) -> list[Any]:
    """A Text as plain data: ``[plain, [[start, end, style], …]]``."""
    return [t.plain, [[s.start, s.end, str(s.style)] for s in t.spans]]


def text_of(data: Any) -> Text:
    """A Text from :func:`text_data`'s form, checked: plain text as it was cleaned (never markup), only the screens' styles."""
    if not isinstance(data, list) or len(data) != 2:
        raise ValueError("not a text")
    plain, spans = data
    if not isinstance(plain, str) or clean(plain, multiline=True) != plain or not isinstance(spans, list):
        raise ValueError("not a clean text")
    out = []
    for span in spans:
        if not isinstance(span, list) or len(span) != 3:
            raise ValueError("not a span")
        start, end, style = span
        if (
            not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(plain))
            or not isinstance(style, str)
            or not _STYLE.fullmatch(style)
        ):
            raise ValueError("not a screen's span")
        out.append(Span(start, end, style))
    return Text(plain, spans=out)


def cut(t: Text, limit: int) -> Text:
    """At most ``limit`` characters of ``t`` (spans kept), with an ellipsis when cut."""
    if len(t) <= limit:
        return t
    out = t[:limit]
    out.append(" …", style="dim")
    return out


def rows_data(rows: Sequence[tuple[str, Text]], cap: int, tail: bool = False) -> list[Any]:
    """At most ``cap`` rows (the first ones, or the last with ``tail``), then a row saying how many more the fold brings."""
    kept = list(rows[-cap:] if tail else rows[:cap]) if cap else []
    data = [[rid, text_data(t)] for rid, t in kept]
    more = len(rows) - len(kept)
    if more:
        note = [MORE, text_data(Text(f"… {more} more once it is up to date", style="dim italic"))]
        data = [note, *data] if tail else [*data, note]
    return data


def rows_of(data: Any, cap: int) -> list[tuple[str, Text]]:
    """Rows from :func:`rows_data`'s form, checked (ids of the shape the screens use; at most ``cap`` rows and the "more" one)."""
    if not isinstance(data, list) or len(data) > cap + 1:
        raise ValueError("not rows")
    out = []
    for row in data:
        if not isinstance(row, list) or len(row) != 2 or not isinstance(row[0], str) or not 0 < len(row[0]) <= ID_CHARS or clean(row[0]) != row[0]:
            raise ValueError("not a row")
        out.append((row[0], text_of(row[1])))
    return out
