"""The sync badge: the sync service's one-line state, refreshed every second."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import Static


class SyncBadge(Static):
    """Shows ``provider.status().badge()``, or "sync off" without a provider.

    Args:
        provider: any object with ``status() -> SyncStatus``, or None; or a
            function returning one (sync may start after the badge is shown).
    """

    DEFAULT_CSS = """
    SyncBadge { width: auto; padding: 0 1; color: $text-muted; }
    SyncBadge.-problem { color: $error; }
    SyncBadge.-busy { color: $warning; }
    SyncBadge.-ok { color: $success; }
    """

    def __init__(self, provider: Any | Callable[[], Any] = None, **kwargs: Any) -> None:
        super().__init__("⇅ sync off", **kwargs)
        self.provider = provider
        self._shown = "sync off"

    def on_mount(self) -> None:
        self.refresh_badge()
        self.set_interval(1.0, self.refresh_badge)

    def refresh_badge(self) -> None:
        state, text = "off", "sync off"
        provider = self.provider() if callable(self.provider) and not hasattr(self.provider, "status") else self.provider
        if provider is not None:
            try:
                status = provider.status()
                state, text = status.state, status.badge()
            except Exception:  # the badge must never take the app down; say so calmly
                state, text = "problem", "sync status unavailable"
        self.set_class(state in ("problem", "offline"), "-problem")
        self.set_class(state == "syncing", "-busy")
        self.set_class(state == "up to date", "-ok")
        if text != self._shown:  # update() lays the whole screen out again: not every second for the same words
            self._shown = text
            self.update(f"⇅ {text}")
