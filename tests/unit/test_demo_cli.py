"""`circle demo`: what it tells the person, and while its app runs, every other demo identity can be used from another window."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import circle.app
from circle.cli import main
from circle.crypto import recovery
from circle.demo import DEMO_PASSPHRASE, RECOVERY_CODES
from circle.store.session import Home

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """`circle --home HOME demo --no-tui`, run once for this module's tests: (home, result)."""
    home = tmp_path_factory.mktemp("demo") / "home"
    result = CliRunner().invoke(main, ["--home", str(home), "demo", "--no-tui"], env={"CIRCLE_PASSPHRASE": ""})
    assert result.exit_code == 0, result.output
    return home, result


def test_the_demo_says_where_its_home_is_once(built):
    """The person reads the home's path once, in the command that opens it again (it was printed three times: building
    in it, alone, and in that command); the passphrase once too."""
    home, result = built
    assert result.output.count(str(home)) == 1, result.output
    assert result.stdout.strip() == f"Open it again later with: circle --home {home}"
    assert result.output.count(DEMO_PASSPHRASE) == 1


def test_a_demo_identity_s_recovery_kit_opens_with_the_code_the_demo_gave(built, tmp_path):
    """As after `circle init`, the person is given each demo identity's recovery code (and finds it in the demo home
    later): Kwame's kit, written with `circle recovery-kit`, brings him back on a new laptop. Before, no demo code was
    ever shown, so a demo kit could never be opened."""
    home, result = built
    said = dict(line.strip().split(": ", 1) for line in result.stderr.splitlines() if line.startswith("  "))
    code = said.get("Kwame Mensah (peer)")
    assert code, result.stderr
    kept = (home / RECOVERY_CODES).read_text()
    assert f"Kwame Mensah (peer): {code}\n" in kept
    assert (home / RECOVERY_CODES).stat().st_mode & 0o777 == 0o600
    env = {"CIRCLE_PASSPHRASE": DEMO_PASSPHRASE}
    wrote = CliRunner().invoke(main, ["--home", str(home), "--identity", "Kwame Mensah", "recovery-kit", "-o", str(tmp_path / "kit")], env=env)
    assert wrote.exit_code == 0, wrote.output
    env = {"CIRCLE_PASSPHRASE": "a new pass phrase", "CIRCLE_RECOVERY_CODE": code}
    back = CliRunner().invoke(main, ["--home", str(tmp_path / "new-laptop"), "recover", str(tmp_path / "kit")], env=env)
    assert back.exit_code == 0, back.output
    assert "Recovered Kwame Mensah" in back.stdout
    for name in ("Helen Okafor", "Sam O'Neill"):  # every identity's code is the one its kits open with
        who = Home(home).unlock(DEMO_PASSPHRASE, name)
        kit = who.write_recovery_kit(tmp_path / f"{name}.kit")
        who.close()
        role = next(line for line in kept.splitlines() if line.startswith(f"{name} ("))
        assert recovery.open_kit(recovery.parse_code(role.split(": ", 1)[1]), kit.read_bytes())[0].hex() == who.id


def test_the_demo_lets_go_of_every_identity_while_its_app_runs(tmp_path, monkeypatch):
    """The demo builds seven identities in its own process; the app it opens is one of them. Tom, in another window,
    writes to the cohort meanwhile (before, his journal stayed locked: "circle is already writing for you")."""
    home, written = tmp_path / "home", []

    class OtherWindow:  # the demo's app, opening a second window: another process, as a person would
        def run(self) -> None:
            env = {**os.environ, "CIRCLE_PASSPHRASE": DEMO_PASSPHRASE}
            cmd = [
                str(Path(sys.executable).parent / "circle"),
                "--home",
                str(home),
                "--identity",
                "Tom Berg",
                "agenda",
                "add",
                "Riverside",
                "From Tom's window",
            ]
            written.append(subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120))

    monkeypatch.setattr(circle.app, "make_app", lambda *args, **kwargs: OtherWindow())
    result = CliRunner().invoke(main, ["--home", str(home), "demo"], env={"CIRCLE_PASSPHRASE": ""})
    assert result.exit_code == 0, result.output
    assert result.output.count(str(home)) == 1, result.output  # said once, after the app (it was said five times)
    assert written[0].returncode == 0, written[0].stderr
    tom = Home(home).unlock(DEMO_PASSPHRASE, "Tom Berg")
    assert "From Tom's window" in {i.title for i in tom.cohort(tom.cohort_ids()[0]).view.agenda()}
    tom.close()
