"""Reusable widgets of the circle app (no services, no I/O: attributes down, messages up)."""

from circle.widgets.countdown import Countdown
from circle.widgets.phase_bar import PhaseBar
from circle.widgets.sync_badge import SyncBadge
from circle.widgets.windowed_list import OpenList, Rows, WindowedList

__all__ = ["Countdown", "OpenList", "PhaseBar", "Rows", "SyncBadge", "WindowedList"]
