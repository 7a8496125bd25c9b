"""The command line: the happy path, --help and --version, and bad input.

Bad input (wrong passphrase; a keystore truncated, corrupted, of a future
version or of another identity; a damaged journal; a missing home) must give
one clear line on stderr, a non-zero exit, no traceback, and leave every file
under the home as it was.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from circle.cli import main
from circle.crypto import keystore
from circle.store.session import Home
from tests.conftest import PASSPHRASE, tree_digest
from tests.figures import record

COMMANDS = [["whoami"], ["cohorts"], ["verify"], ["cohort", "create", "Another Cohort"]]


def run(home: Path, *args: str, passphrase: str | None = PASSPHRASE) -> Result:
    env = {"CIRCLE_HOME": str(home), "CIRCLE_PASSPHRASE": passphrase}
    return CliRunner().invoke(main, list(args), env=env)


def assert_one_clear_line(result: Result, *fragments: str) -> str:
    out = result.stdout + result.stderr
    assert result.exit_code not in (0, None), out
    assert "Traceback" not in out and "internal error" not in out, out
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("circle: "), line
    for f in fragments:
        assert f.lower() in line.lower(), (f, line)
    assert result.stdout == "", result.stdout
    return line


# ---- templates: homes made once per module (two Argon2id calls), copied per test ------------
@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("cli-templates")
    out = {}
    for who, cohort in (("Ana", "Dietitians North"), ("Ben", "Physios South")):
        root = base / who
        s = Home(root, calibrate=False).create_identity(who, PASSPHRASE)
        svc = s.create_cohort(cohort)
        svc.store.journal.close()
        out[who] = root
    return out


@pytest.fixture
def ana(templates: dict[str, Path], tmp_path: Path) -> Path:
    root = tmp_path / "ana"
    shutil.copytree(templates["Ana"], root)
    return root


def keystore_of(root: Path) -> Path:
    return next(root.glob("identities/*/keystore"))


def journal_of(root: Path) -> Path:
    return next(root.glob("identities/*/journals/*.db"))


def refused_everywhere(
    root: Path, *fragments: str, commands: list[list[str]] = COMMANDS, passphrase: str | None = PASSPHRASE, figure: tuple[str, str] | None = None
) -> None:
    """Every command refuses in one clear line and changes no file; ``figure`` (category, case) counts it in the suite's figures."""
    before = tree_digest(root) if root.exists() else None
    for cmd in commands:
        result = run(root, *cmd, passphrase=passphrase)
        after = tree_digest(root) if root.exists() else None
        if figure is not None:
            count(figure, result, damaged=after != before)
        assert_one_clear_line(result, *fragments)
        assert after == before, f"{cmd} changed files under the home"


def count(figure: tuple[str, str], result: Result, damaged: bool) -> None:
    category, case = figure
    out = result.stdout + result.stderr
    if category == "passphrase":
        record(category, case, cases_tried=1, cases_accepted=int(result.exit_code == 0))
    else:
        record(category, case, cases_tried=1, tracebacks_shown=int("Traceback" in out or "internal error" in out), files_damaged_by_circle=int(damaged))


# ---- the happy path ----------------------------------------------------------------
def test_init_whoami_cohort_create_cohorts_verify(circle_home: Path) -> None:
    r = run(circle_home, "init", "--name", "Ana Tūhoe")
    assert r.exit_code == 0, r.stderr
    fp = re.search(r"Fingerprint: ((\d{5} ){7}\d{5})", r.stdout)
    assert fp, r.stdout

    r = run(circle_home, "whoami")
    assert r.exit_code == 0 and r.stdout.splitlines()[0] == "Ana Tūhoe" and fp.group(1) in r.stdout

    r = run(circle_home, "cohort", "create", "Dietitians North", "--purpose", "new graduates")
    assert r.exit_code == 0, r.stderr
    cid = r.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{32}", cid)

    r = run(circle_home, "cohorts")
    assert r.exit_code == 0 and f"{cid[:12]}  Dietitians North  (1 member)" in r.stdout

    r = run(circle_home, "verify")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "Checked 3 events in 1 journal (" in r.stdout and "No problems found." in r.stdout


def test_cohorts_when_there_are_none(ana: Path) -> None:
    fresh = ana.parent / "fresh"
    Home(fresh, calibrate=False).create_identity("Cleo", PASSPHRASE)
    r = run(fresh, "cohorts")
    assert r.exit_code == 0 and "No cohorts yet" in r.stdout


def test_version() -> None:
    r = CliRunner().invoke(main, ["--version"])
    assert r.exit_code == 0 and re.fullmatch(r"circle, version \d+\.\d+\.\d+\S*\n", r.stdout)


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).with_name("circle")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("circle, version")


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in sorted(group.commands.items()):
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out += all_commands(cmd, (*prefix, name))
    return out


def test_help_of_every_command() -> None:
    paths = [()] + all_commands(main)
    assert {("init",), ("whoami",), ("cohort",), ("cohort", "create"), ("cohorts",), ("verify",)} <= set(paths)
    for path in paths:
        r = CliRunner().invoke(main, [*path, "--help"])
        assert r.exit_code == 0, (path, r.output)
        assert r.stdout.startswith("Usage: "), path
        if path:
            cmd = main
            for part in path:
                cmd = cmd.commands[part]
            assert (cmd.help or cmd.short_help or "").strip(), f"{' '.join(path)} has no help text"


# ---- bad input ---------------------------------------------------------------------
def test_init_refuses_to_overwrite(ana: Path) -> None:
    before = tree_digest(ana)
    assert_one_clear_line(run(ana, "init", "--name", "Ana"), "already exists")
    assert tree_digest(ana) == before


def test_init_refuses_a_short_passphrase(circle_home: Path) -> None:
    r = run(circle_home, "init", "--name", "Ana", passphrase="short")
    assert_one_clear_line(r, "passphrase")
    assert r.exit_code == 2 and not circle_home.exists()


def test_wrong_passphrase(ana: Path) -> None:
    refused_everywhere(ana, "wrong passphrase", passphrase="not the passphrase at all", figure=("passphrase", "wrong passphrase (CLI, 4 commands)"))


def test_no_passphrase_and_no_terminal(ana: Path) -> None:
    refused_everywhere(ana, "passphrase", passphrase=None)


def test_missing_home(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    refused_everywhere(missing, "no circle home", str(missing), figure=("files", "home: missing"))
    assert not missing.exists()


def test_home_without_identity(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    refused_everywhere(empty, "no identity", "circle init", figure=("files", "home: no identity"))


def mutate_keystore(fn: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        p = keystore_of(root)
        p.write_bytes(fn(p.read_bytes()))

    return apply


def flip(offset: int) -> Callable[[bytes], bytes]:
    def f(raw: bytes) -> bytes:
        i = offset % len(raw)
        return raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1 :]

    return f


@pytest.mark.parametrize(
    "mutation,fragment",
    [
        (mutate_keystore(lambda raw: b""), "keystore damaged"),
        (mutate_keystore(lambda raw: raw[:30]), "keystore damaged"),
        (mutate_keystore(lambda raw: raw[: keystore._HEAD.size + 5]), "keystore truncated"),
        (mutate_keystore(lambda raw: raw[:-1]), "damaged"),  # the AEAD cannot tell a cut tag from a wrong passphrase: both named
        (mutate_keystore(flip(-40)), "damaged"),
        (mutate_keystore(flip(10)), "out of bounds"),  # Argon2id memory cost: 64 MiB -> 16 GiB + 64 MiB
        (mutate_keystore(lambda raw: raw[:8] + b"\x02" + raw[9:]), "newer circle"),
        (mutate_keystore(lambda raw: b"SQLite format 3\x00" + raw[16:]), "not a circle keystore"),
    ],
    ids=["empty", "truncated-header", "truncated-body", "truncated-tag", "corrupted-body", "corrupted-kdf-params", "future-version", "another-kind"],
)
def test_damaged_keystore(ana: Path, mutation: Callable[[Path], None], fragment: str) -> None:
    mutation(ana)
    refused_everywhere(ana, fragment, figure=("files", "keystore: empty, truncated, corrupted, future, foreign"))


def test_keystore_from_another_identity(ana: Path, templates: dict[str, Path]) -> None:
    shutil.copyfile(keystore_of(templates["Ben"]), keystore_of(ana))
    refused_everywhere(ana, "identity", figure=("files", "keystore: another identity's"))


def damage_journal(root: Path, how: str) -> None:
    j = journal_of(root)
    conn = sqlite3.connect(j)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{j}-{suffix[1:]}").unlink(missing_ok=True)
    raw = j.read_bytes()
    if how == "truncated":
        j.write_bytes(raw[: len(raw) // 2])
    elif how == "corrupted":  # a byte inside the newest envelope's signature
        conn = sqlite3.connect(j)
        blob = conn.execute("SELECT blob FROM envelopes ORDER BY seq DESC LIMIT 1").fetchone()[0]
        conn.close()
        at = raw.index(blob[-32:]) + 29  # its last bytes (a row's first bytes sit in its leaf, the rest in overflow pages)
        j.write_bytes(raw[:at] + bytes([raw[at] ^ 0x20]) + raw[at + 1 :])
    elif how == "not-sqlite":
        j.write_bytes(b"\x00garbage" * 512)


@pytest.mark.parametrize("how", ["truncated", "corrupted", "not-sqlite"])
def test_verify_reports_a_damaged_journal(ana: Path, how: str) -> None:
    damage_journal(ana, how)
    before = tree_digest(ana)
    r = run(ana, "verify")
    out = r.stdout + r.stderr
    count(("files", "own journal: truncated, corrupted, not SQLite (verify)"), r, damaged=tree_digest(ana) != before)
    assert r.exit_code == 1, out
    assert "Traceback" not in out and "internal error" not in out
    problems = [line for line in out.splitlines() if "problem" in line]
    assert len(problems) == 1 and journal_of(ana).stem[:8] in problems[0], out
    assert tree_digest(ana) == before


@pytest.mark.parametrize("how", ["truncated", "corrupted"])
def test_cohorts_names_a_damaged_journal(ana: Path, how: str) -> None:
    damage_journal(ana, how)
    before = tree_digest(ana)
    r = run(ana, "cohorts")
    out = r.stdout + r.stderr
    count(("files", "own journal: truncated, corrupted (cohorts)"), r, damaged=tree_digest(ana) != before)
    assert "Traceback" not in out and "internal error" not in out
    assert "journal" in out.lower() and ("damaged" in out.lower() or "verify" in out.lower()), out
    assert tree_digest(ana) == before


@pytest.mark.parametrize(
    "how, ends",
    [
        ("corrupted", ["; run 'circle verify'", ""]),  # a changed event says only what; the own journal's line says what to run
        ("not-sqlite", ["", ""]),  # a damaged file's error names 'circle verify' itself
    ],
)
def test_cohorts_adds_run_verify_only_where_a_problem_says_nothing_to_do(ana: Path, how: str, ends: list[str]) -> None:
    """Each problem line says what to do once: the problem knows whether it does (it was guessed from its text)."""
    from circle.store.ingest import Problem

    damage_journal(ana, how)
    said = Home(ana).unlock(PASSPHRASE).problems()
    assert [isinstance(p, Problem) and p.acts for p in said] == [not end for end in ends]
    r = run(ana, "cohorts")
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [f"circle: problem: {p}{end}" for p, end in zip(said, ends, strict=True)]
    assert json.loads(run(ana, "cohorts", "--json").stdout)["problems"] == said  # the lines as they are, without the added hint


@pytest.mark.parametrize("how", ["truncated", "corrupted"])
def test_export_refuses_while_the_own_journal_is_damaged(ana: Path, how: str, tmp_path: Path) -> None:
    """A damaged journal left an empty view: the export signed a summary of a cohort with nobody in it, and said so with exit 0."""
    damage_journal(ana, how)
    before = tree_digest(ana)
    r = run(ana, "export", Home(ana).unlock(PASSPHRASE).cohort_ids()[0], "-o", str(tmp_path / "out.md"))
    out = r.stdout + r.stderr
    assert r.exit_code == 1 and not (tmp_path / "out.md").exists() and not (tmp_path / "out.md.sig").exists(), out
    assert "your journal for this cohort" in out and "nothing was exported" in out and "Traceback" not in out
    assert tree_digest(ana) == before
    r = run(ana, "cohorts")
    assert r.stderr and all(line.count("run 'circle") == 1 for line in r.stderr.splitlines()), r.stderr  # each says what to do once


def test_an_export_that_cannot_be_written_names_the_path_asked_for(ana: Path) -> None:
    r = run(ana, "export", Home(ana).unlock(PASSPHRASE).cohort_ids()[0], "-o", "/proc/summary.md")
    assert r.exit_code != 0 and "/proc/summary.md" in r.stderr and ".tmp" not in r.stderr and "Traceback" not in r.stderr, r.stderr


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_an_export_onto_a_folder_says_it_is_a_folder(ana: Path, tmp_path: Path, force: list[str]) -> None:
    """It said to pass --force, and with --force that it is a folder."""
    assert_one_clear_line(run(ana, "export", Home(ana).unlock(PASSPHRASE).cohort_ids()[0], "-o", str(tmp_path), *force), "is a folder", "file name")


def test_app_preselects_the_identity_named_by_a_prefix(ana: Path, templates: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """`circle --identity be` opens the unlock screen on Ben, as every command takes a name prefix; a name nobody has is one line."""
    shutil.copytree(templates["Ben"] / "identities", ana / "identities", dirs_exist_ok=True)
    opened: list[str | None] = []
    monkeypatch.setattr("circle.app.run_app", lambda root, identity=None: opened.append(identity))
    assert run(ana, "--identity", "be").exit_code == 0
    ben = Home(ana).find("Ben")
    assert opened == [ben.id]
    assert_one_clear_line(run(ana, "--identity", "Nobody"), "Nobody", "Ana", "Ben")
    assert opened == [ben.id]


def test_cohort_replica_makes_the_folder_a_location_or_says_why_not(ana: Path, tmp_path: Path) -> None:
    """The folder a person chooses is marked as circle's, so a pulled stick is told apart from an empty mount point."""
    from circle.sync.location import MARKER

    (tmp_path / "media" / "stick").mkdir(parents=True)  # the stick, mounted
    stick = tmp_path / "media" / "stick" / "circle"
    before = tree_digest(ana)
    mistyped = tmp_path / "media" / "stik" / "circle"
    assert_one_clear_line(run(ana, "cohort", "replica", "Dietitians North", str(mistyped)), "parent is not there", "plug in the drive")
    assert_one_clear_line(run(ana, "cohort", "create", "Physios", "--replica", str(mistyped)), "parent is not there")
    assert_one_clear_line(run(ana, "cohort", "create", "Physios", "--replica", "/proc/circle-replica"), "cannot use that folder")
    assert not (tmp_path / "media" / "stik").exists() and tree_digest(ana) == before  # nothing made, no cohort created
    result = run(ana, "cohort", "replica", "Dietitians North", str(stick))
    assert result.exit_code == 0, result.output
    assert (stick / MARKER).is_file()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    before = tree_digest(ana)
    assert_one_clear_line(run(ana, "cohort", "replica", "Dietitians North", str(blocker / "circle")), "the replica location is not a folder", "is a file")
    assert tree_digest(ana) == before


def test_a_replica_inside_the_home_or_inside_a_journals_replica_is_refused(ana: Path, tmp_path: Path) -> None:
    """`cohort replica` took a folder inside the home (the keystore and journals beside the replica) or inside one
    journal's replica folder (a heal of that journal deletes the folder with everything in it)."""
    stick = tmp_path / "stick"
    assert run(ana, "cohort", "replica", "Dietitians North", str(stick)).exit_code == 0
    s = Home(ana).unlock(PASSPHRASE)
    store = s.cohort(s.cohort_ids()[0]).store
    journal = stick / store.entry.replica_path  # where this journal replicates from now on
    own = store.journal.path.parent  # the home's folder of own journals
    s.close()
    before = tree_digest(ana)
    for folder in (journal, journal / "ltx"):
        assert_one_clear_line(run(ana, "cohort", "replica", "Dietitians North", str(folder)), "inside a journal's replica", str(stick), "choose")
        assert_one_clear_line(run(ana, "cohort", "create", "Physios", "--replica", str(folder / "physios")), "inside a journal's replica")
    for folder in (own, ana, ana / "replica" / "physios"):
        assert_one_clear_line(run(ana, "cohort", "replica", "Dietitians North", str(folder)), "inside your circle home", "choose a folder outside")
    assert tree_digest(ana) == before  # nothing saved, no cohort created
    assert not (journal / "physios").exists() and not (own / ".circle-replica").exists()
    for fine in (stick / "physios", ana / "replica"):  # beside the journals of a location; the home's own (default) folder
        assert run(ana, "cohort", "replica", "Dietitians North", str(fine)).exit_code == 0, fine


FOREIGN = {
    "a stray file in the home": lambda root: root / "notes.txt",
    "a stray file beside the keystore": lambda root: keystore_of(root).parent / "keystore.bak",
    "a garbage file named like a journal": lambda root: journal_of(root).parent / f"{'ab' * 16}.db",
    "a stranger's SQLite file named like a peer's journal": lambda root: journal_of(root).parent.parent / "peers" / f"{'cd' * 16}.db",
}


@pytest.mark.parametrize("case", FOREIGN)
def test_foreign_files_in_the_home_are_left_alone_and_change_nothing(ana: Path, case: str, tmp_path: Path) -> None:
    """Files circle did not write, where it keeps its own: every command still works, and no file is touched."""
    path = FOREIGN[case](ana)
    path.parent.mkdir(parents=True, exist_ok=True)
    if "SQLite" in case:
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE envelopes (seq INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
        conn.execute("INSERT INTO envelopes (blob) VALUES (?)", (b"\x00" * 300,))
        conn.commit()
        conn.close()
    else:
        path.write_bytes(b"\x00garbage" * 64)
    before = tree_digest(ana)
    for cmd in (["whoami"], ["cohorts"], ["verify"]):
        r = run(ana, *cmd)
        count(("files", f"home: {case}"), r, damaged=tree_digest(ana) != before)
        out = r.stdout + r.stderr
        assert r.exit_code == 0 and "Traceback" not in out and "internal error" not in out, (cmd, out)
        assert tree_digest(ana) == before, cmd


def test_a_first_open_of_a_big_cohort_says_it_takes_a_while_once(tmp_path, monkeypatch):
    """Without its snapshot (the first open on a device) every event is decrypted: a command says so once, on stderr; then it is quick."""
    from circle.store import cohort as cohort_module
    from circle.store import snapshot

    monkeypatch.setattr(cohort_module, "PROGRESS_EVERY", 10)
    monkeypatch.setattr(snapshot, "SAVE_AFTER", 10)  # as in use: a cohort big enough to be told about writes its snapshot
    home = tmp_path / "home"
    session = Home(home, calibrate=False).create_identity("Ana", PASSPHRASE)
    svc = session.create_cohort("Midwives South")
    mid = svc.schedule("2026-12-10 14:00", "December")
    for n in range(35):
        svc.add_note(mid, f"note {n}")
    cid, snap = svc.id, svc.store._snapshot_path()
    session.close()
    snap.unlink(missing_ok=True)
    first = CliRunner().invoke(main, ["agenda", cid], env={"CIRCLE_HOME": str(home), "CIRCLE_PASSPHRASE": PASSPHRASE})
    assert first.exit_code == 0, first.output
    said = [line for line in first.stderr.splitlines() if line.startswith("Decrypting")]
    assert len(said) == 1 and re.fullmatch(r"Decrypting \d+ events on this device: .* later ones start from its snapshot\.", said[0]), first.stderr
    assert "Decrypting" not in first.stdout
    again = run(home, "agenda", cid)  # the first command left a snapshot
    assert again.exit_code == 0 and "Decrypting" not in again.output


def test_a_name_longer_than_a_cohort_takes_is_refused_at_init_and_the_longest_it_takes_joins(circle_home: Path, tmp_path: Path) -> None:
    """A cohort refuses a name over 80 characters in every event that carries it: init took one, and its join request
    then read as a wrong code on both sides (each try using up the invite)."""
    from circle.models.schema import MAX_NAME
    from tests.security.laptops import Laptops

    assert_one_clear_line(run(circle_home, "init", "--name", "X" * (MAX_NAME + 1)), f"at most {MAX_NAME} characters")
    assert not any(circle_home.rglob("keystore"))  # nothing made
    lap = Laptops(tmp_path / "ward", "Ana")
    longest = "Dr " + "Y" * (MAX_NAME - 3)
    lap.join(longest, "peer")  # the boundary: admitted, and named so on the founder's laptop
    assert longest in {m.name for m in lap.svc("Ana").view.members()}
