"""The README stays true: every command is documented, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

import click

from circle.cli import main

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in group.commands.items():
        if cmd.hidden:
            continue
        path = (*prefix, name)
        out.append(path)
        if isinstance(cmd, click.Group):
            out += command_paths(cmd, path)
    return out


def test_every_command_is_in_the_readme() -> None:
    paths = command_paths(main)
    assert len(paths) >= 15  # init, whoami, cohort create/replica, cohorts, verify, demo, agenda add, sync, invite, join, admit, remove, doctor...
    missing = [" ".join(p) for p in paths if f"circle {' '.join(p)}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def test_readme_test_command_is_what_ci_runs() -> None:
    blocks = re.findall(r"## Test it\n\n```sh\n(.+?)\n```", README, re.S)
    assert len(blocks) == 1
    ci = (ROOT / ".ci" / "run").read_text()
    assert blocks[0].strip() in ci


def test_readme_names_the_three_replica_kinds_with_examples() -> None:
    for example in ("circle cohort replica", "sftp://", "s3://", "circle sync --once"):
        assert example in README
