"""Every folder circle makes is 0700 and every file 0600, whatever the umask (another local user cannot rename or read them)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import PASSPHRASE


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIRCLE_HOME": str(home), "CIRCLE_PASSPHRASE": PASSPHRASE}
    code = f"import os, sys; os.umask(0); from circle.cli import main; sys.argv = ['circle', *{list(args)!r}]; main()"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_a_home_made_under_umask_000_is_private(tmp_path: Path) -> None:
    home = tmp_path / "deep" / "home"
    for args in (("init", "--name", "Ana"), ("cohort", "create", "Night nurses"), ("sync", "--once"), ("verify",)):
        r = run(home, *args)
        assert r.returncode == 0, r.stderr
    made = [p for p in [tmp_path / "deep", *(tmp_path / "deep").rglob("*")] if not p.is_symlink()]
    folders = [p for p in made if p.is_dir()]
    files = [p for p in made if p.is_file()]
    assert len(folders) >= 6 and len(files) >= 4
    loose = [f"{p.relative_to(tmp_path)} {oct(stat.S_IMODE(p.stat().st_mode))}" for p in folders if stat.S_IMODE(p.stat().st_mode) != 0o700]
    loose += [f"{p.relative_to(tmp_path)} {oct(stat.S_IMODE(p.stat().st_mode))}" for p in files if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert loose == []
