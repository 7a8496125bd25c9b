"""The meeting's phases, with the current one marked."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from circle.models.meeting import PHASE_TITLES
from circle.models.view import PHASES

SHORT = {"check-in": "Check-in", "agenda": "Agenda", "feedback": "Feedback", "actions": "Actions", "wrap-up": "Wrap-up"}


class PhaseBar(Static):
    """Check-in › Agenda › Feedback › Actions › Wrap-up, current phase highlighted."""

    DEFAULT_CSS = """
    PhaseBar { height: 1; width: 1fr; }
    """

    phase: reactive[str] = reactive("")
    held: reactive[bool] = reactive(False)

    def render(self) -> Text:
        out = Text()
        current = PHASES.index(self.phase) if self.phase in PHASES else -1
        for i, p in enumerate(PHASES):
            if i:
                out.append(" › ", style="dim")
            if i == current:
                out.append(f"● {SHORT[p]}", style="bold reverse")
            elif i < current or self.held:
                out.append(f"✓ {SHORT[p]}", style="dim")
            else:
                out.append(f"○ {SHORT[p]}")
        if self.held:
            out.append("  (held)", style="italic")
        elif current < 0:
            out.append(f"  ({PHASE_TITLES['']})", style="italic")
        return out
