"""Names as people type them (models/names.py:match_one): one match, several, none, and the words each says."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from circle.errors import Ambiguous, NotFound
from circle.models.names import match_one


@dataclass(frozen=True)
class Thing:
    name: str
    id: str


def find(items: list[Thing], ref: str, what: str = "member") -> Thing:
    return match_one(items, ref, name=lambda t: t.name, ident=lambda t: t.id, what=what)


def test_the_same_name_in_another_case_is_told_apart_by_id():
    """A hostile member may copy a real member's name in another case: "type more of the name" could never tell them apart."""
    people = [Thing("Ana Silva", "a1b2c3d4e5"), Thing("ana silva", "f6e5d4c3b2")]
    with pytest.raises(Ambiguous) as exc:
        find(people, "ana")
    assert exc.value.hint == "give the start of one's id: Ana Silva (a1b2c3d4), ana silva (f6e5d4c3)"
    assert find(people, "f6e5").id == "f6e5d4c3b2"


def test_several_names_say_so_and_none_lists_what_is_there():
    people = [Thing("Ben Okoro", "11"), Thing("Bea Stone", "22")]
    with pytest.raises(Ambiguous, match="several members match 'b'"):
        find(people, "b")
    with pytest.raises(NotFound) as exc:
        find(people, "zed", what="identity")
    assert not isinstance(exc.value, Ambiguous) and exc.value.hint == "identities here: Bea Stone, Ben Okoro"
