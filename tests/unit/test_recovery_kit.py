"""The recovery code and kit: what opens, what never does, and the commands around them."""

from __future__ import annotations

import json
import stat

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from circle.cli import main
from circle.crypto import recovery
from circle.errors import InvalidEnvelope
from tests.conftest import PASSPHRASE
from tests.figures import record

IDENT = bytes(range(16))
DOC = {"v": 1, "name": "Ana", "identity": {"id": IDENT.hex(), "sign": "11" * 32}, "cohorts": {}}


@given(st.binary(min_size=20, max_size=20))
@settings(max_examples=200, deadline=None)
def test_a_code_reads_back_however_it_is_typed(secret):
    code = recovery.format_code(secret)
    assert code.startswith("circle-recovery-") and len(code.split("-")) == 10
    for typed in (code, code.upper(), code.replace("-", " "), code[len("circle-recovery-") :], "  " + code.replace("-", "") + "\n"):
        assert recovery.parse_code(typed) == secret


@pytest.mark.parametrize("bad", ["", "circle-recovery-", "hello", "circle-recovery-abcd", "circle-recovery-" + "a" * 40, "circle-recovery-" + "1" * 32])
def test_what_is_not_a_code_is_refused(bad):
    with pytest.raises(InvalidEnvelope) as e:
        recovery.parse_code(bad)
    assert "not a recovery code" in e.value.reason


def test_a_kit_opens_with_its_code_only():
    secret = recovery.new_code()
    blob = recovery.seal_kit(secret, IDENT, DOC)
    assert recovery.kit_identity(blob) == IDENT
    assert recovery.open_kit(secret, blob) == (IDENT, DOC)
    assert b"Ana" not in blob and b'"sign"' not in blob  # nothing of the document in the clear
    with pytest.raises(InvalidEnvelope) as e:
        recovery.open_kit(recovery.new_code(), blob)
    assert "does not open this kit" in e.value.reason


def test_every_flipped_byte_and_every_cut_is_refused():
    secret = recovery.new_code()
    blob = recovery.seal_kit(secret, IDENT, DOC)
    tried = refused = 0
    for i in range(len(blob)):
        for mutant in (blob[:i] + bytes([blob[i] ^ 0x01]) + blob[i + 1 :], blob[:i]):
            tried += 1
            try:
                recovery.open_kit(secret, mutant)
            except InvalidEnvelope:
                refused += 1
    print(f"recovery kit mutants: {tried} tried, {tried - refused} accepted")
    record("tamper", "recovery kit: bit flips and truncations", mutants_tried=tried, mutants_accepted=tried - refused)
    assert refused == tried


def test_a_kit_that_names_another_identity_than_it_holds_is_refused():
    secret = recovery.new_code()
    other = bytes(16)
    blob = recovery.seal_kit(secret, other, DOC)  # sealed for one id, holding another's document
    with pytest.raises(InvalidEnvelope) as e:
        recovery.open_kit(secret, blob)
    assert "does not hold the identity it names" in e.value.reason


def run(home, *args, **env):
    return CliRunner().invoke(main, list(args), env={"CIRCLE_HOME": str(home), "CIRCLE_PASSPHRASE": PASSPHRASE, **env})


def test_init_shows_the_code_and_the_kit_is_written_private(tmp_path):
    home = tmp_path / "home"
    r = run(home, "init", "--name", "Ana")
    assert r.exit_code == 0, r.output
    code = next(line.split(": ", 1)[1] for line in r.stdout.splitlines() if line.startswith("Recovery code: "))
    recovery.parse_code(code)
    assert "none written yet" in run(home, "status").stdout
    r = run(home, "recovery-kit", "-o", str(tmp_path / "ana.kit"))
    assert r.exit_code == 0, r.output
    kit = tmp_path / "ana.kit"
    assert stat.S_IMODE(kit.stat().st_mode) == 0o600
    ident, doc = recovery.open_kit(recovery.parse_code(code), kit.read_bytes())
    assert doc["name"] == "Ana" and doc["kit"]["cohorts"] == []
    assert "holds every cohort" in run(home, "status").stdout
    run(home, "cohort", "create", "Dietitians North")
    assert "does not hold Dietitians North" in run(home, "status").stdout
    assert json.loads(run(home, "status", "--json").stdout)["recovery_kit"]["missing_cohorts"] == ["Dietitians North"]


@pytest.mark.parametrize(
    "args, says",
    [
        (("recovery-kit", "-o", "/nonexistent/dir/ana.kit"), "that folder does not exist"),
    ],
)
def test_kit_errors_are_one_line(tmp_path, args, says):
    home = tmp_path / "home"
    run(home, "init", "--name", "Ana")
    r = run(home, *args)
    assert r.exit_code != 0 and r.stderr.startswith(f"circle: {says}") and len(r.stderr.strip().splitlines()) == 1


def test_recover_refuses_a_wrong_code_and_changes_nothing(tmp_path):
    home = tmp_path / "home"
    r = run(home, "init", "--name", "Ana")
    run(home, "recovery-kit", "-o", str(tmp_path / "ana.kit"))
    other = tmp_path / "other"
    r = run(other, "recover", str(tmp_path / "ana.kit"), CIRCLE_RECOVERY_CODE=recovery.format_code(bytes(20)))
    assert r.exit_code != 0 and r.stderr.startswith("circle: the recovery code does not open this kit")
    assert not (other / "identities").exists() or not any((other / "identities").iterdir())
    r = run(other, "recover", str(tmp_path / "ana.kit"), CIRCLE_RECOVERY_CODE="not a code")
    assert r.exit_code != 0 and r.stderr.startswith("circle: that is not a recovery code")
