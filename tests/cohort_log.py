"""Plain events of a cohort as honest clients write them, for tests of the fold (no crypto).

Members are named by short aliases ("m", "p0", "a"); the builder gives each a
real-looking identity id, public key and journal, founds the cohort so that
its id derives from the founder (as every device checks), and makes each
event cite the newest event of every other journal its author has not cited
yet, with a lamport clock past everything, as :class:`CohortStore` does.
``add(..., lamport=n)`` writes as a device that had seen nothing new
(concurrent): no citations, the given clock.
"""

from __future__ import annotations

import hashlib
from typing import Any

from circle.models.events import Event
from circle.models.governance import cohort_id_for
from circle.models.view import View

PUBLIC_TAIL = "ab" * 1248  # the rest of a public key: the fold checks only that it starts with the member id
MEMBER_KEYS = ("member", "owner", "to", "from", "facilitator")


def hexid(text: str, n: int = 32) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


class CohortLog:
    """A cohort's events, written member by member."""

    def __init__(self, mentor: str = "m", name: str = "Test cohort", salt: str = "") -> None:
        self.salt = salt
        self.events: list[Event] = []
        self.lamport = 0
        self.ids: dict[str, str] = {}
        self.journals: dict[str, str] = {}  # alias -> the journal it writes now
        self._seq: dict[str, int] = {}
        self._lamport_of: dict[str, int] = {}
        self._newest: dict[str, Event] = {}
        self._cited: dict[str, dict[str, int]] = {}
        self.mentor = mentor
        self._identity(mentor)
        nonce = hexid(f"nonce{salt}", 64)
        self.cohort = cohort_id_for(self.ids[mentor], self.journals[mentor], nonce)
        self.add(mentor, "cohort.created", {"name": name, "nonce": nonce})
        self.add(mentor, "member.admitted", self.admission(mentor, "mentor"))
        self.add(mentor, "keys.epoch_started", {"epoch": 1, "key_id": hexid(f"k1{salt}"), "recipients": [self.ids[mentor]], "commit": hexid(f"c1{salt}", 64)})

    def _identity(self, alias: str) -> None:
        self.ids[alias] = hexid(f"id:{alias}{self.salt}")
        self.journals[alias] = hexid(f"journal:{alias}:0{self.salt}")

    def id(self, alias: str) -> str:
        return self.ids[alias]

    def alias(self, member_id: str) -> str:
        return next((a for a, i in self.ids.items() if i == member_id), member_id)

    def admission(self, alias: str, role: str, journal: str | None = None) -> dict[str, Any]:
        if alias not in self.ids:
            self._identity(alias)
        return {
            "member": self.ids[alias],
            "name": alias.upper(),
            "role": role,
            "public": self.ids[alias] + PUBLIC_TAIL,
            "journal": journal or self.journals[alias],
        }

    def admit(self, alias: str, role: str = "peer", by: str | None = None) -> Event:
        return self.add(by or self.mentor, "member.admitted", self.admission(alias, role))

    def new_journal(self, alias: str) -> str:
        """A new journal for a member admitted again."""
        n = sum(1 for j in self._seq if j.startswith(hexid(f"journal:{alias}:", 8))) + 1
        self.journals[alias] = hexid(f"journal:{alias}:{n}{self.salt}")
        return self.journals[alias]

    def _resolve(self, body: dict[str, Any]) -> dict[str, Any]:
        out = dict(body)
        for k in MEMBER_KEYS:
            if isinstance(out.get(k), str) and out[k] in self.ids:
                out[k] = self.ids[out[k]]
        return out

    def add(
        self,
        author: str,
        kind: str,
        body: dict[str, Any],
        lamport: int | None = None,
        journal: str | None = None,
        cite: bool = True,
        exact_lamport: bool = False,
    ) -> Event:
        """Write one event as ``author`` (an alias) in their journal; see the module docstring for clocks and citations.

        ``exact_lamport`` writes the clock given even if it goes backwards (an altered client).
        """
        if author not in self.ids:
            self._identity(author)
        j = journal or self.journals[author]
        seq = self._seq.get(j, 0) + 1
        cited = self._cited.setdefault(j, {})
        deps: tuple[tuple[str, int, str], ...] = ()
        if lamport is None and cite:
            deps = tuple(sorted((k, e.seq, e.id) for k, e in self._newest.items() if k != j and e.seq > cited.get(k, 0)))
            self.lamport += 1
            lam = max(self.lamport, self._lamport_of.get(j, 0) + 1)
        else:
            lam = lamport if exact_lamport and lamport is not None else max(lamport or 0, self._lamport_of.get(j, 0) + 1)
        self.lamport = max(self.lamport, lam)
        for k, s, _ in deps:
            cited[k] = s
        body = self._resolve(body)
        eid = hashlib.sha256(repr((j, seq, kind, lam, sorted(body.items()))).encode()).hexdigest()
        e = Event(eid, j, seq, kind, self.cohort, self.ids[author], lam, 1000.0 + lam, body, deps)
        self._seq[j] = seq
        self._lamport_of[j] = lam
        self._newest[j] = e
        self.events.append(e)
        return e

    def view(self, events: list[Event] | None = None) -> View:
        v = View(self.cohort)
        v.apply(self.events if events is None else events)
        return v
