"""The countdown of the current agenda item, with a gentle signal at time-up.

Time's up shows in words and reversed video (seen without colour, on a
monochrome terminal too); the app rings the bell once.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from circle.messages import TimeUp
from circle.models.meeting import TimerState


class Countdown(Static):
    """Shows the item title, its owner and the time left; posts :class:`TimeUp` once when it runs out.

    The parent sets ``state`` (computed from the session's clock) and ``caption``.
    """

    DEFAULT_CSS = """
    Countdown { height: 1; width: 1fr; }
    Countdown.-over { color: $warning; text-style: bold; }
    """

    state: reactive[TimerState] = reactive(TimerState("", 0, 0.0))
    caption: reactive[str] = reactive("")
    meeting: str = ""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._signalled: set[str] = set()

    def watch_state(self, old: TimerState, new: TimerState) -> None:
        self.set_class(new.over, "-over")
        if new.over and new.item not in self._signalled:
            self._signalled.add(new.item)
            # Only a transition seen on screen signals: opening a meeting that ran over stays quiet.
            if old.item == new.item and not old.over:
                self.post_message(TimeUp(self.meeting, new.item))

    def render(self) -> Text:
        s = self.state
        if not s.running:
            return Text(self.caption or "No item running", style="dim")
        width = 10
        filled = round(s.fraction_left * width)
        bar = "█" * filled + "░" * (width - filled)
        out = Text()
        out.append("⏱ ")
        if s.over:
            out.append(f" {s.label().upper()} ", style="bold reverse")
        else:
            out.append(s.label(), style="bold")
        out.append(f" {bar} ")
        out.append(self.caption)
        return out
