"""The core (models, crypto, store, sync, export) never imports textual.

Two proofs, as harlequin does it: import every core module in a fresh
interpreter and look at ``sys.modules``; and run import-linter's contracts
from pyproject.toml.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ["circle.models", "circle.crypto", "circle.store", "circle.sync", "circle.export"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

PROBE = """
import importlib, json, pkgutil, sys
names, errors = [], {}
for top in %r:
    pkg = importlib.import_module(top)
    names.append(top)
    for info in pkgutil.walk_packages(pkg.__path__, top + ".") if top.startswith("circle") else ():
        try:
            importlib.import_module(info.name)
            names.append(info.name)
        except Exception as exc:
            errors[info.name] = repr(exc)
ui = sorted(m for m in sys.modules if m == "textual" or m.startswith(("textual.", "circle.app", "circle.screens", "circle.widgets")))
print(json.dumps({"imported": names, "errors": errors, "ui": ui}))
"""


def probe(modules: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE % (modules,)], capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    return json.loads(out.stdout)


def test_importing_every_core_module_loads_no_ui() -> None:
    found = probe(CORE)
    assert "circle.crypto.envelope" in found["imported"] and "circle.store.session" in found["imported"]
    assert found["ui"] == []
    assert found["errors"] == {}, "core modules that do not even import"


def test_the_probe_can_see_textual() -> None:
    """The probe is not blind: importing textual itself shows up."""
    assert "textual" in probe(["textual"])["ui"]


def _contracts_config(tmp_path: Path, include_external: bool | None) -> Path:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    lines = ["[tool.importlinter]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in conf.items() if k not in ("contracts", "include_external_packages")]
    if include_external is not None:
        lines.append(f"include_external_packages = {str(include_external).lower()}")
    for c in conf["contracts"]:
        lines.append("[[tool.importlinter.contracts]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in c.items()]
    path = tmp_path / "importlinter.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_import_linter_contracts_hold(tmp_path: Path) -> None:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in conf["contracts"] if c["type"] == "forbidden")
    assert set(CORE) <= set(contract["source_modules"]) and "textual" in contract["forbidden_modules"]
    result = lint(str(_contracts_config(tmp_path, True)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_lint_imports_runs_with_the_repository_config() -> None:
    result = lint()
    assert result.returncode == 0, result.stdout + result.stderr
