"""A list that shows one window (page) of a long sequence at a time.

Textual measures every option before painting; a cohort can hold 100k notes,
so a list never holds more than ``page_size`` rows. ``[`` and ``]`` page, and
moving past the first or last row of a window goes on into the next one.
Measuring means wrapping each row's text to the list's width, so the options
of rows seen before are kept: coming back to a window (or to an agenda item's
notes) does not wrap its text again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from operator import attrgetter
from typing import Any, Generic, TypeVar, overload

from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

Row = tuple[str, Any]  # (id, prompt)
T = TypeVar("T")


class Rows(Sequence[Row], Generic[T]):
    """Rows whose prompts are made when a window first shows them; their ids are known at once.

    A big cohort's lists are long (at 100k events: 2,000 notes on one item, 980 meetings, 3,900 actions) and a
    window shows 25 to 300 of them: making every row's text first cost 50-80 ms per read of a screen.
    ``prompt`` runs on the UI thread, without the view's lock, so it must read only frozen things copied out
    under it (a :class:`~circle.models.meeting.Room`, frozen records, dicts made for the read). Each row's
    prompt is made once: the list keeps a row's option while its prompt is the same object.

    Args:
        things: one per row, after ``head``.
        prompt: a thing's row text.
        row_id: a thing's row id (its ``id`` by default).
        head: rows already made, shown before the things.
    """

    def __init__(self, things: Sequence[T], prompt: Callable[[T], Any], row_id: Callable[[T], str] = attrgetter("id"), head: Sequence[Row] = ()) -> None:
        self._things = things
        self._prompt = prompt
        self._head = tuple(head)
        self.ids = [rid for rid, _ in self._head] + [row_id(t) for t in things]
        self._made: dict[int, Any] = {}
        self._where: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, i: int) -> Row: ...
    @overload
    def __getitem__(self, i: slice) -> list[Row]: ...
    def __getitem__(self, i: int | slice) -> Row | list[Row]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self.ids)
        if not 0 <= i < len(self.ids):
            raise IndexError(i)
        if i < len(self._head):
            return self._head[i]
        made = self._made.get(i)
        if made is None:
            made = self._made[i] = self._prompt(self._things[i - len(self._head)])
        return self.ids[i], made

    def __iter__(self) -> Iterator[Row]:
        return (self[i] for i in range(len(self.ids)))

    def index_of(self, row_id: str) -> int | None:
        """Where the row ``row_id`` is (None when it is not here), without making any prompt."""
        if self._where is None:
            self._where = {rid: i for i, rid in enumerate(self.ids)}
        return self._where.get(row_id)


def row_index(rows: Sequence[Row], row_id: str) -> int | None:
    """Where the row ``row_id`` is in ``rows``, or None."""
    if isinstance(rows, Rows):
        return rows.index_of(row_id)
    return next((i for i, (rid, _) in enumerate(rows) if rid == row_id), None)


class WindowedList(OptionList):
    """An OptionList over a window of ``rows``; ids are kept, the prompt is rendered.

    Args:
        page_size: most rows on screen at once.
        empty: what to show when there is nothing.
    """

    BINDINGS = [
        Binding("]", "next_page", "Next page", show=False),
        Binding("[", "previous_page", "Previous page", show=False),
    ]

    def __init__(self, *, page_size: int = 500, empty: str = "Nothing here yet.", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.page_size = page_size
        self.empty = empty
        self._rows: Sequence[Row] = ()
        self.page = 0
        self._made: dict[str, Option] = {}  # row id -> its option, while the row's prompt is the same object

    @property
    def pages(self) -> int:
        return max(1, -(-len(self._rows) // self.page_size))

    @property
    def total(self) -> int:
        """How many rows there are in all windows."""
        return len(self._rows)

    def set_rows(self, rows: Sequence[Row], keep: str | None = None, last_page: bool = False, empty: str | None = None) -> None:
        """Replace the rows; keep the highlighted id (or ``keep``) when it is still there; ``empty``: what to show when there are none."""
        if empty is not None:
            self.empty = empty
        current = keep or self.highlighted_id
        self._rows = rows
        if current is not None:
            idx = row_index(rows, current)
            if idx is not None:
                self.page = idx // self.page_size
        if last_page:
            self.page = self.pages - 1
        self.page = min(self.page, self.pages - 1)
        self._show(current)

    def highlight(self, row_id: str) -> None:
        """Highlight the row ``row_id``, on its window, if it is there."""
        if row_index(self._rows, row_id) is not None:
            self.set_rows(self._rows, keep=row_id)

    @property
    def highlighted_id(self) -> str | None:
        opt = self.highlighted_option
        return opt.id if opt is not None and opt.id and not opt.id.startswith("_") else None

    def _show(self, keep: str | None = None) -> None:
        start = self.page * self.page_size
        window = self._rows[start : start + self.page_size]
        options: list[Option] = []
        if not window:
            options.append(Option(Text(self.empty, style="dim italic"), id="_empty", disabled=True))
        if self.page > 0:
            options.append(Option(Text(f"▲ earlier ({start} more, press [)", style="dim"), id="_prev", disabled=True))
        options += [self._option(rid, prompt) for rid, prompt in window]
        if len(self._made) > 4 * self.page_size:
            shown = {rid for rid, _ in window}
            self._made = {rid: o for rid, o in self._made.items() if rid in shown}
        rest = len(self._rows) - start - len(window)
        if rest > 0:
            options.append(Option(Text(f"▼ later ({rest} more, press ])", style="dim"), id="_next", disabled=True))
        highlighted = self.highlighted
        self.set_options(options)
        ids = [o.id for o in options]
        if keep in ids:
            self.highlighted = ids.index(keep)
        elif window:
            first = next(i for i, o in enumerate(options) if not o.disabled)
            self.highlighted = min(max(highlighted or first, first), len(options) - 1) if highlighted is not None else first
            if self.get_option_at_index(self.highlighted).disabled:
                self.highlighted = first

    def _option(self, rid: str, prompt: Any) -> Option:
        made = self._made.get(rid)
        if made is None or made.prompt is not prompt:
            made = self._made[rid] = Option(prompt, id=rid)
        return made

    def action_next_page(self) -> None:
        if self.page + 1 < self.pages:
            self._go(self.page + 1)

    def action_previous_page(self) -> None:
        if self.page > 0:
            self._go(self.page - 1)

    def _go(self, page: int, land: str | None = None) -> None:
        """Show window ``page``; ``land`` on its "first" or "last" row."""
        self.page = page
        start = page * self.page_size
        window = self._rows[start : start + self.page_size]
        keep = (window[0][0] if land == "first" else window[-1][0]) if land and window else None
        self._show(keep)

    # Moving past either end of a window carries on into the next one, so the windows are seamless;
    # past the end of the whole list the cursor wraps round, as in any option list.
    def _edge(self, last: bool) -> int | None:
        enabled = [i for i, o in enumerate(self.options) if not o.disabled]
        return (enabled[-1] if last else enabled[0]) if enabled else None

    def _at_edge(self, last: bool) -> bool:
        return self.highlighted is not None and self.highlighted == self._edge(last)

    def action_cursor_down(self) -> None:
        if self.pages > 1 and self._at_edge(last=True):
            self._go(self.page + 1 if self.page + 1 < self.pages else 0, "first")
        else:
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.pages > 1 and self._at_edge(last=False):
            self._go(self.page - 1 if self.page > 0 else self.pages - 1, "last")
        else:
            super().action_cursor_up()

    def action_page_down(self) -> None:
        if self.page + 1 < self.pages and self._at_edge(last=True):
            self._go(self.page + 1, "first")
        else:
            super().action_page_down()
            if self.highlighted is None:  # a page landed on the "later" line: stay on the last row
                self.highlighted = self._edge(last=True)

    def action_page_up(self) -> None:
        if self.page > 0 and self._at_edge(last=False):
            self._go(self.page - 1, "last")
        else:
            super().action_page_up()
            if self.highlighted is None:  # a page landed on the "earlier" line: stay on the first row
                self.highlighted = self._edge(last=False)


class OpenList(WindowedList):
    """A windowed list whose Enter opens the highlighted row, shown in the footer as "Open"."""

    BINDINGS = [Binding("enter", "select", "Open", key_display="⏎")]
