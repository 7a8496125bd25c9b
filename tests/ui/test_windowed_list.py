"""A long list shown one window at a time: what a person paging through it notices."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from circle.widgets import Rows, WindowedList


class ListApp(App[None]):
    def compose(self) -> ComposeResult:
        yield WindowedList(id="list", page_size=10)

    def on_mount(self) -> None:
        lst = self.query_one(WindowedList)
        lst.set_rows([(f"r{i}", Text(f"note {i}")) for i in range(25)], last_page=True)
        lst.focus()


def shown(lst: WindowedList) -> list[str]:
    return [str(o.prompt) for o in lst.options]


async def test_moving_past_a_window_edge_goes_on_into_the_next_window():
    app = ListApp()
    async with app.run_test(size=(40, 30)) as pilot:
        lst = app.query_one(WindowedList)
        assert lst.page == 2 and shown(lst)[0] == "▲ earlier (20 more, press [)" and lst.highlighted_id == "r20"
        await pilot.press("up")  # past the top of the last window: the previous one, on its last row
        assert lst.page == 1 and lst.highlighted_id == "r19"
        assert shown(lst)[-1] == "▼ later (5 more, press ])"
        await pilot.press("pageup", "pageup")  # to the top of this window, then on into the first
        assert lst.page == 0 and lst.highlighted_id == "r9"
        await pilot.press("down")  # and back past the bottom edge
        assert lst.page == 1 and lst.highlighted_id == "r10"
        await pilot.press("]", "]")  # the last window stops paging
        assert lst.page == 2 and lst.total == 25 and lst.highlighted_id == "r20"
        await pilot.press("pagedown", "pagedown")  # the end of the whole list stops a page
        assert lst.page == 2 and lst.highlighted_id == "r24"
        await pilot.press("down")  # past the very end the cursor wraps round, to the first window
        assert lst.page == 0 and lst.highlighted_id == "r0"
        await pilot.press("up")
        assert lst.page == 2 and lst.highlighted_id == "r24"


async def test_a_window_seen_before_keeps_its_options():
    app = ListApp()
    async with app.run_test(size=(40, 30)) as pilot:
        lst = app.query_one(WindowedList)
        before = {o.id: o for o in lst.options}
        await pilot.press("[", "]")
        assert all(before[o.id] is o for o in lst.options if o.id in before and not o.id.startswith("_"))
        rows = list(lst._rows)
        rows[24] = ("r24", Text("note 24, edited"))
        lst.set_rows(rows)  # a changed row gets a new option; the others are kept
        assert "note 24, edited" in shown(lst) and before["r23"] is next(o for o in lst.options if o.id == "r23")


class Counted:
    """Row texts made on demand, counting which were made."""

    def __init__(self) -> None:
        self.made: list[int] = []

    def __call__(self, i: int) -> Text:
        self.made.append(i)
        return Text(f"note {i}")


class RowsApp(App[None]):
    def __init__(self, rows: Rows) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield WindowedList(id="list", page_size=10)

    def on_mount(self) -> None:
        self.query_one(WindowedList).set_rows(self.rows, last_page=True)
        self.query_one(WindowedList).focus()


def test_rows_make_a_text_only_when_asked_and_once():
    made = Counted()
    rows = Rows(range(1000), made, row_id=lambda i: f"r{i}", head=[("_head", Text("last time"))])
    assert len(rows) == 1001 and rows.ids[:2] == ["_head", "r0"] and made.made == []
    assert rows.index_of("r500") == 501 and made.made == []  # finding a row makes no text
    assert rows.index_of("gone") is None
    assert rows[0] == ("_head", rows[0][1]) and str(rows[0][1]) == "last time"
    assert [rid for rid, _ in rows[-3:]] == ["r997", "r998", "r999"] and made.made == [997, 998, 999]
    assert rows[-1][1] is rows[1000][1] and made.made == [997, 998, 999]  # the same text, made once
    with pytest.raises(IndexError):
        rows[1001]


async def test_a_long_list_of_rows_makes_only_the_windows_shown():
    made = Counted()
    app = RowsApp(Rows(range(1000), made, row_id=lambda i: f"r{i}"))
    async with app.run_test(size=(40, 30)) as pilot:
        lst = app.query_one(WindowedList)
        assert lst.page == 99 and sorted(made.made) == list(range(990, 1000))
        await pilot.press("[", "[")
        assert sorted(made.made) == list(range(970, 1000))
        lst.set_rows(lst._rows, keep="r5")  # finding a far row shows its window, and only that one is made
        assert lst.page == 0 and lst.highlighted_id == "r5" and sorted(made.made) == [*range(10), *range(970, 1000)]
