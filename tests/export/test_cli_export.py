"""`circle export` and `circle verify-export` from the command line: signed files, one-line errors, no home to verify."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from circle import export as ex
from circle.cli import main
from circle.demo import DEMO_PASSPHRASE
from circle.export.signature import sidecar_path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "export.schema.json").read_text())


def run(home: Path | None, *args: str) -> Result:
    env = {"CIRCLE_HOME": str(home) if home else "/nonexistent/circle-home", "CIRCLE_PASSPHRASE": DEMO_PASSPHRASE if home else None, "CIRCLE_IDENTITY": None}
    return CliRunner().invoke(main, ["--identity", "Helen", *args] if home else list(args), env=env)


def one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("circle: "), result.stderr
    assert "Traceback" not in result.output
    for f in fragments:
        assert f in lines[0], lines[0]


@pytest.fixture(scope="module")
def home(export_demo, tmp_path_factory) -> Path:
    import shutil

    dest = tmp_path_factory.mktemp("cli") / "home"
    shutil.copytree(export_demo, dest, symlinks=True)
    return dest


@pytest.mark.parametrize("fmt", ["md", "html", "csv", "json", "pdf"])
def test_export_writes_a_signed_file_that_verifies_without_a_home(home, tmp_path, fmt):
    out = tmp_path / f"export{ex.EXTENSIONS[fmt]}"  # CSV: a zip of tables
    result = run(home, "export", "Riverside", "--format", fmt, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.is_file() and sidecar_path(out).is_file()
    assert out.stat().st_mode & 0o777 == 0o600  # the cohort's words in plaintext: the user's alone, whatever the umask
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # written whole, then put in place
    assert f"Wrote {out}" in result.stdout and "Signed by Helen Okafor, fingerprint " in result.stdout
    assert "private notes of yours" not in result.stdout and "Left out" not in result.stdout  # none: nothing to say
    assert "7 anonymous-round lines counted, text not included" in result.stdout, result.stdout
    whoami = run(home, "whoami").stdout.splitlines()[1]  # "Fingerprint: ..."
    check = run(None, "verify-export", str(out))
    assert check.exit_code == 0, check.output
    assert check.stdout.splitlines()[:2] == ["Good signature by Helen Okafor", whoami]
    assert not Path("/nonexistent/circle-home").exists()


@pytest.mark.parametrize("where", [0, -1, "middle"])
def test_one_changed_byte_is_refused_in_one_line(home, tmp_path, where):
    out = tmp_path / "export.pdf"
    assert run(home, "export", "Riverside", "--format", "pdf", "-o", str(out)).exit_code == 0
    data = bytearray(out.read_bytes())
    i = len(data) // 2 if where == "middle" else where
    data[i] ^= 0x01
    out.write_bytes(bytes(data))
    one_line_error(run(None, "verify-export", str(out)), "the file changed after it was signed")


def test_a_changed_signer_name_or_a_signature_of_another_file_is_refused(home, tmp_path):
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    assert run(home, "export", "Riverside", "-o", str(a)).exit_code == 0
    assert run(home, "export", "Riverside", "--to", "2025-03-01", "-o", str(b)).exit_code == 0
    side = json.loads(sidecar_path(a).read_text())
    side["signer"]["name"] = "Someone Else"
    sidecar_path(a).write_text(json.dumps(side))
    one_line_error(run(None, "verify-export", str(a)), "the signature does not match")
    one_line_error(run(None, "verify-export", str(b), "--signature", str(sidecar_path(a))), "the signature is for another file", "it signs 'a.md'")
    sidecar_path(b).write_text("{not json")
    one_line_error(run(None, "verify-export", str(b)), "malformed")
    sidecar_path(b).unlink()
    one_line_error(run(None, "verify-export", str(b)), "no signature file")


def test_meetings_are_listed_and_found_by_date_or_id_prefix(home, tmp_path):
    listing = run(home, "export", "Riverside", "--list-meetings")
    assert listing.exit_code == 0
    rows = listing.stdout.splitlines()
    assert len(rows) == 10 and rows[-1].endswith("upcoming   Open session")
    short = rows[7].split()[0]
    by_id = run(home, "export", "Riverside", "--meeting", short, "-o", str(tmp_path / "a.md"))
    by_date = run(home, "export", "Riverside", "--meeting", "2025-05-21", "-o", str(tmp_path / "b.md"))
    assert by_id.exit_code == by_date.exit_code == 0
    same = [[ln for ln in (tmp_path / n).read_text().splitlines() if not ln.startswith("Exported by")] for n in ("a.md", "b.md")]  # the CLI's clock moves
    assert same[0] == same[1]
    assert (tmp_path / "a.md").read_text().startswith("# Minutes: Riverside Allied Health Circle, 2025-05-21 18:00")
    missing = run(home, "export", "Riverside", "--meeting", "1999-01-01")
    one_line_error(missing, "no such meeting", "2025-05-21 18:00", short)


def test_bad_input_is_one_line(home, tmp_path):
    assert run(home, "export", "Riverside", "--from", "June").exit_code == 2
    assert run(home, "export", "Riverside", "--from", "2025-06-01", "--to", "2025-01-01").exit_code == 2
    assert run(home, "export", "Riverside", "--meeting", "2025-05-21", "--from", "2025-01-01").exit_code == 2
    out = tmp_path / "x.md"
    out.write_text("keep me")
    one_line_error(run(home, "export", "Riverside", "-o", str(out)), "exists", "--force")
    assert out.read_text() == "keep me"


def test_the_format_follows_the_file_name_and_a_name_of_another_format_is_refused(home, tmp_path):
    named = run(home, "export", "Riverside", "-o", str(tmp_path / "summary.pdf"))  # no --format: the ending says PDF
    assert named.exit_code == 0, named.output
    assert (tmp_path / "summary.pdf").read_bytes().startswith(b"%PDF")
    wrong = run(home, "export", "Riverside", "--format", "md", "-o", str(tmp_path / "x.pdf"))
    assert wrong.exit_code == 2 and not (tmp_path / "x.pdf").exists()
    assert wrong.stderr == "circle: x.pdf ends in .pdf but the format is md: name it .md, or choose pdf\n"
    other = run(home, "export", "Riverside", "--format", "html", "-o", str(tmp_path / "for-the-lead.txt"))  # an ending of no format: as asked
    assert other.exit_code == 0 and "<!DOCTYPE html>" in (tmp_path / "for-the-lead.txt").read_text()
    htm = run(home, "export", "Riverside", "-o", str(tmp_path / "lead.htm"))  # another spelling of an ending says it too
    assert htm.exit_code == 0 and "<!DOCTYPE html>" in (tmp_path / "lead.htm").read_text()
    table = run(home, "export", "Riverside", "-o", str(tmp_path / "table.csv"))
    assert table.exit_code == 2 and table.stderr.startswith("circle: table.csv: a CSV export is a zip of tables: name it .zip")
    assert not (tmp_path / "table.csv").exists()


def test_a_path_that_cannot_be_written_is_one_line_and_makes_no_folders(home, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for out in (tmp_path / "typo" / "dir" / "x.pdf", blocker / "x.md"):
        result = run(home, "export", "Riverside", "--format", out.suffix[1:], "-o", str(out))
        assert result.exit_code != 0 and "Traceback" not in result.output and "internal error" not in result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("circle: folder not found") and str(out.parent) in lines[0], result.stderr
    assert not (tmp_path / "typo").exists()
    assert blocker.read_text() == "not a folder"


def test_csv_as_a_folder_signs_every_table(home, tmp_path):
    folder = tmp_path / "tables"
    result = run(home, "export", "Riverside", "--format", "csv", "--folder", "-o", str(folder))
    assert result.exit_code == 0, result.output
    tables = sorted(folder.glob("*.csv"))
    assert len(tables) == 18 and all(sidecar_path(t).is_file() for t in tables)
    assert {t.stat().st_mode & 0o777 for t in tables} == {0o600}
    assert all(run(None, "verify-export", str(t)).exit_code == 0 for t in tables)


def test_json_exports_validate_against_the_published_schema(home, tmp_path, export_demo):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for args in ([], ["--from", "2025-04-01", "--to", "2025-04-30"], ["--meeting", "2025-05-21"], ["--anonymous"]):
        out = tmp_path / f"e{len(args)}.json"
        assert run(home, "export", "Riverside", "--format", "json", "-o", str(out), *args).exit_code == 0
        doc = json.loads(out.read_text())
        errors = sorted(validator.iter_errors(doc), key=str)
        assert not errors, errors[0].message
    doc["meetings"][0]["author_of_anonymous_lines"] = "x"  # the schema allows nothing it does not name
    assert list(validator.iter_errors(doc))


def test_the_schema_names_every_field_the_export_writes():
    """No field leaves the export undocumented: the schema is strict (additionalProperties false everywhere)."""

    def strict(node):
        if isinstance(node, dict):
            if node.get("type") == "object":
                assert node.get("additionalProperties") is False, node
            for v in node.values():
                strict(v)
        elif isinstance(node, list):
            for v in node:
                strict(v)

    strict(SCHEMA)
