"""What every signed-in screen shares: the top bar with the sync badge, help, refresh on new events."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.binding import Binding
from textual.screen import Screen

from circle.errors import CircleError

if TYPE_CHECKING:
    from circle.app import CircleApp

T = TypeVar("T")


class CircleScreen(Screen[None]):
    """A signed-in screen. Subclasses implement :meth:`refresh_view`."""

    BINDINGS = [
        Binding("question_mark,f1", "app.help", "Help", key_display="?"),
    ]

    @property
    def circle(self) -> CircleApp:
        return self.app  # type: ignore[return-value]

    def refresh_view(self) -> None:
        """Re-read the folded view and update the widgets."""

    def on_screen_resume(self) -> None:
        self.refresh_view()

    def attempt(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run a command; a CircleError becomes a calm notification, and the screen refreshes."""
        try:
            result = fn(*args, **kwargs)
        except CircleError as exc:
            self.notify(exc.hint or " ", title=exc.title, severity="warning")
            return None
        self.refresh_view()
        return result

    def do(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Like :meth:`attempt`, but says whether the command succeeded."""
        try:
            fn(*args, **kwargs)
        except CircleError as exc:
            self.notify(exc.hint or " ", title=exc.title, severity="warning")
            return False
        self.refresh_view()
        return True
