"""The export screen: opened from the cohort screen with e, a plain-text preview, a chart, a signed export written in a worker."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, ProgressBar, Static
from textual_plotext import PlotextPlot

from circle.export.signature import verify
from circle.screens.export import ExportScreen
from tests.ui.conftest import opened

SIZE = (120, 40)


async def open_export(pilot) -> ExportScreen:
    await opened(pilot)
    await pilot.press("enter")  # the cohort
    await opened(pilot)
    await pilot.press("e")
    await opened(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ExportScreen)
    return screen


async def test_preview_is_the_markdown_as_plain_text_and_the_chart_has_every_meeting_held(app_for):
    app = app_for("Helen Okafor")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        preview = screen.query_one("#export-preview", Static).render()
        text = preview.plain if hasattr(preview, "plain") else str(preview)
        assert text.startswith("# Riverside Allied Health Circle: cohort summary")
        for heading in (
            "## Charter",
            "## Roster",
            "## Attendance",
            "## Meetings",
            "## Facilitation history",
            "## Open actions",
            "## What this export leaves out",
        ):
            assert heading in text
        assert screen.last is not None and len(screen.last.points) == 8
        await pilot.press("f4")
        await pilot.pause()
        assert screen.query_one("#export-chart", PlotextPlot).display


async def test_a_period_narrows_the_preview(app_for):
    app = app_for("Helen Okafor")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        screen.query_one("#export-from", Input).value = "2025-05-01"
        screen.query_one("#export-to", Input).value = "2025-05-31"
        screen.action_preview()
        await opened(pilot)
        assert screen.last is not None
        assert [m.at[:10] for m in screen.last.summary.meetings] == ["2025-05-07", "2025-05-21"]
        assert "period: 2025-05-01 to 2025-05-31" in screen.last.preview.plain


async def test_ctrl_e_writes_a_signed_export_in_a_worker(app_for, tmp_path: Path):
    app = app_for("Helen Okafor")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        target = tmp_path / "out" / "summary.html"
        target.parent.mkdir()  # a folder that is not there is said, not made (tests/export/test_cli_export.py)
        screen.query_one("#export-path", Input).value = str(target)
        from textual.widgets import Select

        screen.query_one("#export-format", Select).value = "html"
        await pilot.pause()
        screen.query_one("#export-path", Input).value = str(target)
        await pilot.press("ctrl+e")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        assert target.is_file()
        assert screen.query_one("#export-progress", ProgressBar).progress == 1.0
        assert verify(target).name == "Helen Okafor"
        assert "<!DOCTYPE html>" in target.read_text()


async def test_one_meetings_minutes_from_the_picker_and_a_typed_name_is_kept(app_for, tmp_path: Path):
    from textual.widgets import Select

    app = app_for("Helen Okafor")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        picker = screen.query_one("#export-meeting", Select)
        options = [value for _, value in screen.last.meetings]
        assert len(options) == 10  # every meeting not cancelled, newest first
        held = next(mid for label, mid in screen.last.meetings if "2025-05-21" in label)
        picker.value = held
        await opened(pilot)
        assert screen.last.summary.kind == "minutes" and screen.last.summary.meetings[0].at == "2025-05-21 18:00"
        assert screen.last.preview.plain.startswith("# Minutes: Riverside Allied Health Circle, 2025-05-21 18:00")
        path = screen.query_one("#export-path", Input)
        assert path.value.endswith("riverside-allied-health-circle-minutes-2025-05-21.md")
        path.value = str(tmp_path / "my-minutes.md")
        screen.query_one("#export-format", Select).value = "pdf"
        await pilot.pause()
        assert path.value == str(tmp_path / "my-minutes.pdf")  # the name typed stays; its ending follows the format
        await pilot.press("ctrl+e")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert (tmp_path / "my-minutes.pdf").read_bytes().startswith(b"%PDF")
        assert verify(tmp_path / "my-minutes.pdf").name == "Helen Okafor"


async def test_a_name_ending_in_another_formats_extension_is_refused(app_for, tmp_path: Path):
    app = app_for("Helen Okafor")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        out = tmp_path / "out"
        out.mkdir()
        screen.query_one("#export-path", Input).value = str(out / "summary.pdf")  # Markdown is chosen
        await pilot.press("ctrl+e")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not list(out.iterdir())
        said = [(n.title, n.message) for n in app._notifications]
        assert ("summary.pdf ends in .pdf but the format is md", "name it .md, or choose pdf") in said


async def test_ctrl_e_right_after_typing_writes_to_the_name_typed(app_for, tmp_path: Path):
    """Keys arrive together when typed fast (or pasted): Ctrl+E, a priority binding, must not read the field before they are in."""
    from textual import events

    app = app_for("Helen Okafor")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        path = screen.query_one("#export-path", Input)
        path.value = str(tmp_path) + "/"
        path.focus()
        await pilot.pause()
        path.cursor_position = len(path.value)
        for ch in "fast.md":  # posted at once, as a terminal delivers a burst: none handled before the next is sent
            app.post_message(events.Key(ch, ch))
        app.post_message(events.Key("ctrl+e", None))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [p.name for p in tmp_path.iterdir()] and (tmp_path / "fast.md").is_file(), sorted(p.name for p in tmp_path.iterdir())


async def test_hostile_text_in_the_preview_is_plain_text(hostile_app):
    """The hostile corpus (tests/hostile.py): markup, escape sequences and bidi controls show as text, and nothing crashes."""
    app = hostile_app("Helen Okafor")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        text = screen.last.preview.plain
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
        assert "@click=app.quit" in text and "␛" in text
        assert not screen.last.preview.spans  # one plain run: no style came from member text
        title = str(screen.query_one("#export-title").render())
        assert "\x1b" not in title


async def test_a_file_already_there_is_replaced_only_when_the_person_says_so(app_for, tmp_path: Path):
    """Ctrl+E twice wrote over the first export without a word (the command refuses without --force)."""
    from circle.screens.modals import ConfirmModal

    app = app_for("Helen Okafor")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot)
        target = tmp_path / "summary.md"
        target.write_text("a program lead's copy\n")
        screen.query_one("#export-path", Input).value = str(target)
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and "summary.md exists" in app.screen.question
        await pilot.press("enter")  # "Keep it" is highlighted
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert target.read_text() == "a program lead's copy\n"
        await pilot.press("ctrl+e")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        assert verify(target).name == "Helen Okafor"
