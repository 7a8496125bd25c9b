"""Every path circle uses comes from here."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def user_dir(home: str | os.PathLike[str] | None = None) -> Path:
    """The circle home: ``home`` if given, else ``CIRCLE_HOME``, else the platform data dir."""
    if home:
        return Path(home).expanduser()
    env = os.environ.get("CIRCLE_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("circle", appauthor=False))


def default_replica(home: Path) -> Path:
    """The embedded default replica location: a folder inside the home."""
    return (home / "replica").resolve()
