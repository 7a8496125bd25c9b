"""The authority vectors: each case's events, read back from JSON, fold to the outcome the case states.

One file per rule of docs/FORMAT.md "Authority" (tests/vectors/authority/,
made by tests/vectors/make_authority.py); regenerating them gives the same
bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from circle.models.events import Event
from circle.models.view import View
from tests.figures import record

ROOT = Path(__file__).resolve().parents[2]
VECTORS = sorted((ROOT / "tests" / "vectors" / "authority").glob("*.json"))


class Aliases:
    def __init__(self, members: dict[str, str]) -> None:
        self.members = members

    def alias(self, member_id: str) -> str:
        return next((a for a, i in self.members.items() if i == member_id), member_id)


def load(path: Path) -> tuple[dict, list[Event]]:
    doc = json.loads(path.read_text())
    events = [
        Event(e["id"], e["journal"], e["seq"], e["kind"], e["cohort"], e["author"], e["lamport"], e["ts"], e["body"], tuple((j, s, h) for j, s, h in e["deps"]))
        for e in doc["events"]
    ]
    return doc, events


def test_there_is_a_vector_for_every_rule() -> None:
    names = {p.stem for p in VECTORS}
    assert {
        "founding-forged",
        "admission",
        "removal",
        "removal-cut",
        "roles",
        "charter",
        "epochs",
        "meeting-lead",
        "swap",
        "give-back",
        "attendance",
        "edits",
        "shape-and-clocks",
        "concurrent-removals",
        "readmission",
        "readmission-new-keys",
        "note-edits",
        "redaction",
        "more-time",
        "late-items",
        "credits",
        "clocks",
    } <= names


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_authority_vector(path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "vectors"))
    from make_authority import facts

    doc, events = load(path)
    expected = dict(doc["expected"])
    refused = expected.pop("refused")
    for order in (events, list(reversed(events))):
        view = View(doc["cohort"])
        view.apply(order)
        record("hostile", "authority vectors (any order)", cases_tried=len(refused), cases_accepted=len(set(refused) - set(view.refused())))
        assert view.refused() == refused, doc["about"]
        have = facts(Aliases(doc["members"]), view)
        for k, v in expected.items():
            if k.startswith("ok"):
                assert v in view and v not in view.refused(), (doc["about"], k)
            elif isinstance(v, dict):
                assert {a: have[k].get(a) for a in v} == v, (doc["about"], k)
            else:
                assert have[k] == v, (doc["about"], k)


def test_authority_vectors_regenerate_byte_for_byte(tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in VECTORS}
    subprocess.run([sys.executable, str(ROOT / "tests" / "vectors" / "make_authority.py"), str(tmp_path)], check=True, capture_output=True, timeout=120)
    after = {p.name: p.read_bytes() for p in sorted(tmp_path.glob("*.json"))}
    assert after == before
