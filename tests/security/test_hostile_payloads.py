"""Payloads only an altered client writes: text that is not text, and nesting deeper than JSON decodes.

JSON may spell any UTF-16 code unit as an escape (``"\\udc80"``), and
Python's decoder turns a lone one into a string that cannot be written as
UTF-8. circle's own commands never write one (their payloads are UTF-8), but a
member's altered client may seal one into a title or a note. Every device then
wrote that string wherever it writes text: the sealed snapshot (its save failed
quietly, so every later open was cold), the front page, exports and signed
documents. So a payload that spells one is refused where it is decoded, on
every device, as any malformed payload is; the rest of the journal folds.

Nesting is the other thing a payload can spell that no circle command writes:
a few hundred bytes of ``[`` inflate to a list deeper than Python's decoder
goes, and its RecursionError ended every member's sync. It is refused the same
way, as are wraps (tests/security/test_history_hostile.py) and agreement files
nested so. So are clocks, times and cited positions out of range: every
member numbers their next event past the highest clock seen, so one clock of
4,300 digits left every honest member unable to write.
"""

from __future__ import annotations

import json
import os
import tracemalloc

import pytest

from circle import export as ex
from circle.errors import InvalidEnvelope
from circle.models.events import MAX_DEPTH, PAYLOAD_VERSION, decode_payload
from circle.store import snapshot
from tests.security.laptops import Laptops, write_altered

LONE = "\udc80"


def _payload(kind: str, cohort: str, author: str, lamport: int, ts: float, body: dict) -> bytes:
    """As an altered client writes it: JSON with every non-ASCII character escaped, a lone surrogate among them."""
    doc = {"v": PAYLOAD_VERSION, "k": kind, "c": cohort, "a": author, "l": lamport, "t": round(ts, 3), "b": body}
    return json.dumps(doc, separators=(",", ":")).encode()


def _write(svc, events: list[tuple[str, dict] | bytes]) -> None:
    """Bea's altered client: ordinary events, each sealed with the epoch's key and signed, their payloads as above (or as given)."""
    store = svc.store
    lamport, now = store.view.max_lamport, store.clock()
    payloads = []
    for event in events:
        lamport += 1
        payloads.append(event if isinstance(event, bytes) else _payload(*event[:1], store.id, store.author.id, lamport, now, event[1]))
    write_altered(svc, payloads)


def _spelled(lt: Laptops, body: bytes, clock: bytes = b"1", time: bytes = b"0", cited: bytes = b"") -> bytes:
    """A note's payload as Bea's altered client spells it, byte for byte: ``body`` and ``cited`` (the citations' JSON) as given."""
    author = lt.store("Bea").author.id
    return b'{"v":1,"k":"note.added","c":"%s","a":"%s","l":%s,"t":%s%s,"b":%s}' % (lt.cid.encode(), author.encode(), clock, time, cited, body)


def _held_after_delivery(lt: Laptops) -> int:
    """Bytes Ana's device holds (traced) after Bea's journal is delivered to it and folded."""
    tracemalloc.start()
    try:
        lt.deliver("Ana", "Bea")
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


@pytest.fixture
def lt(tmp_path) -> Laptops:
    """Ana founds a cohort and Bea joins it; both have the meeting ``lt.mid``."""
    lt = Laptops(tmp_path, "Ana")
    lt.join("Bea")
    lt.mid = lt.svc("Ana").schedule("2026-12-10 14:00", "December")
    lt.sync()
    return lt


@pytest.mark.parametrize(
    "spelled",
    [
        pytest.param(LONE, id="a lone low surrogate"),
        pytest.param("\ud83d", id="a lone high surrogate"),
        pytest.param("\ude00\ud83d", id="a pair the wrong way round"),
    ],
)
def test_a_lone_surrogate_from_an_altered_client_is_refused_and_everything_else_still_writes(lt, tmp_path, spelled):
    mid, bea = lt.mid, lt.svc("Bea")
    kept = bea.add_note(mid, "Handover ran long")
    _write(
        bea,
        [
            ("note.added", {"meeting": mid, "text": f"before{spelled}after", "kind": "note"}),
            ("agenda.added", {"item": "ab" * 16, "meeting": mid, "title": f"Audit{spelled}"}),
        ],
    )
    after = bea.add_note(mid, "Dietitian joins on Thursdays")
    lt.deliver("Ana", "Bea")
    ana = lt.svc("Ana")

    report = ana.store.ingest(from_start=True)
    texts = [n.text for n in ana.view.notes(mid)]
    assert texts == ["Handover ran long", "Dietitian joins on Thursdays"]  # what came before and after it folds
    assert {n.id for n in ana.view.notes(mid)} == {kept, after}
    assert not any(spelled in i.title for i in ana.view.agenda(mid))
    assert sum("lone surrogate" in p for p in report.problems) == 2, report.problems

    # What writes text on this device still writes it: the snapshot, every export.
    ana.store.save_snapshot()
    assert snapshot.stream(ana.store._snapshot_path(), ana.store.vault.snapshot_key, ana.id, ana.store.texts.left_body) is not None
    for fmt in ("md", "html", "json", "csv"):
        ex.write(ex.summarize(ana), fmt, tmp_path / f"out.{fmt}", ex.signer_of(ana.store.author), ana.now())


def test_decode_refuses_lone_surrogates_anywhere_and_keeps_escaped_pairs_and_backslashes() -> None:
    def raw(body: dict, **doc) -> bytes:
        return _payload("note.added", "c" * 32, "a" * 64, 1, 0.0, body) if not doc else json.dumps(doc).encode()

    ok = {"meeting": "m", "text": "emoji \U0001f469\u200d\u2695\ufe0f and a backslash-u: \\udc80", "kind": "note"}
    assert decode_payload(raw(ok), id="x", journal="j", seq=1).body == ok  # a pair escaped, and text that only looks like one
    for bad in (
        {"meeting": "m", "text": LONE},
        {"meeting": LONE, "text": "x"},
        {LONE: "x", "meeting": "m", "text": "x"},
        {"meeting": "m", "text": "x", "tags": [["\ud800"]]},
    ):
        with pytest.raises(InvalidEnvelope) as refused:
            decode_payload(raw(bad), id="x", journal="j", seq=1)
        assert "lone surrogate" in refused.value.reason
    with pytest.raises(InvalidEnvelope) as refused:
        decode_payload(raw({}, v=PAYLOAD_VERSION, k="note.added", c="c" * 32, a="a\udc80", l=1, t=0.0, b={}), id="x", journal="j", seq=1)
    assert "lone surrogate" in refused.value.reason


def test_a_payload_nested_deeper_than_json_decodes_is_refused_and_the_rest_folds(lt):
    bea = lt.svc("Bea")
    _write(bea, [_spelled(lt, b"[" * 100_000 + b"]" * 100_000)])  # about 400 bytes once compressed
    bea.add_note(lt.mid, "Handover ran long")
    lt.deliver("Ana", "Bea")
    report = lt.store("Ana").ingest(from_start=True)
    assert [n.text for n in lt.svc("Ana").view.notes(lt.mid)] == ["Handover ran long"]
    assert sum("nested too deep" in p for p in report.problems) == 1, report.problems


def test_an_agreement_file_nested_deeper_than_json_decodes_is_a_one_line_error(lt, tmp_path):
    nested = tmp_path / "sections.json"
    nested.write_bytes(b'{"goals":' + b"[" * 30_000 + b"]" * 30_000 + b"}")
    result = lt.cli("Ana", "agreement", "propose", lt.cid, "--file", str(nested))
    assert result.exit_code != 0 and "Traceback" not in result.output and not isinstance(result.exception, RecursionError)
    assert "the file is not JSON" in result.output


def test_a_body_nested_deeper_than_circle_writes_is_refused(lt, tmp_path):
    """JSON decodes a few hundred levels, each later writer (the snapshot, an export) from wherever it is called:
    a field nested just under the decoder's limit could still end a save or an export. Nothing circle writes is
    nested more than four levels, so a payload nested deeper than MAX_DEPTH is refused where it is decoded."""

    def note(text: str, depth: int) -> bytes:  # a field circle does not know, nested ``depth`` levels under the payload
        nested = b"[" * (depth - 2) + b"]" * (depth - 2)
        return _spelled(lt, b'{"meeting":"%s","text":"%s","kind":"note","x":%s}' % (lt.mid.encode(), text.encode(), nested))

    _write(lt.svc("Bea"), [note("at the limit", MAX_DEPTH), note("past it", MAX_DEPTH + 1), note("far past it", 900)])
    lt.deliver("Ana", "Bea")
    report = lt.store("Ana").ingest(from_start=True)
    assert [n.text for n in lt.svc("Ana").view.notes(lt.mid)] == ["at the limit"]
    assert sum("nested too deep" in p for p in report.problems) == 2, report.problems
    # What writes the payloads still writes them.
    ana = lt.svc("Ana")
    ana.store.save_snapshot()
    ex.write(ex.summarize(ana), "json", tmp_path / "out.json", ex.signer_of(ana.store.author), ana.now())


@pytest.mark.parametrize(
    "clock, time, cited",
    [
        pytest.param(b"9" * 4300, b"0", None, id="a clock of 4,300 digits: every member's next clock would not encode"),
        pytest.param(str(2**63).encode(), b"0", None, id="a clock past 64 bits"),
        pytest.param(b"-1", b"0", None, id="a clock below zero"),
        pytest.param(b"7", b"1e308", None, id="a time no date shows"),
        pytest.param(b"7", b"-1", None, id="a time before 1970"),
        pytest.param(b"7", b"0", b"9" * 30, id="a citation of a position past 64 bits"),
    ],
)
def test_clocks_times_and_positions_out_of_range_are_refused_and_everyone_still_writes(lt, clock, time, cited):
    mid, bea, ana = lt.mid, lt.svc("Bea"), lt.svc("Ana")
    deps = b"" if cited is None else b',"d":{"%s":[%s,"%s"]}' % (ana.store.entry.journal.encode(), cited, b"0" * 64)
    _write(bea, [_spelled(lt, b'{"meeting":"%s","text":"odd","kind":"note"}' % mid.encode(), clock, time, deps)])
    lt.deliver("Ana", "Bea")
    report = ana.store.ingest(from_start=True)
    assert sum("rejected: event" in p for p in report.problems) == 1, report.problems
    assert ana.view.max_lamport < 2**63 and [n.text for n in ana.view.notes(mid)] == []
    ana.add_note(mid, "still written, and read by Bea")
    lt.deliver("Bea", "Ana")
    assert [n.text for n in bea.view.notes(mid)] == ["still written, and read by Bea"]


def test_made_up_citations_cost_what_they_say_not_that_times_every_governance_event(lt):
    """Each governance event kept a copy of everything its journal had cited: 10k made-up journals cited, then 1,000
    tiny `member.updated`, held 216 MB (5 x 10k: 1.97 GB). What a journal had cited at each of them is now read back
    from a log of its citations' changes."""
    bea = lt.store("Bea")
    me, clock = bea.author.id, bea.view.max_lamport

    def update(n: int, cited: bytes = b"") -> bytes:
        body = b'{"member":"%s"}' % me.encode()
        return b'{"v":1,"k":"member.updated","c":"%s","a":"%s","l":%d,"t":0%s,"b":%s}' % (lt.cid.encode(), me.encode(), clock + n, cited, body)

    made_up = [b',"d":{%s}' % b",".join(b'"%032x":[1,"%s"]' % (k * 10_000 + i, b"0" * 32) for i in range(2_000)) for k in range(5)]
    _write(lt.svc("Bea"), [update(1 + k, cited) for k, cited in enumerate(made_up)] + [update(10 + n) for n in range(300)])
    held = _held_after_delivery(lt)
    # 10,000 citations and 305 events: about 11 MB held; with a copy per governance event it was 71 MB.
    assert held < 30 * 2**20, f"{held:,} bytes held after the ingest"
    assert lt.svc("Ana").view.member(me) is not None  # and the cohort folds as before


def test_fields_no_kind_has_are_ignored_and_not_kept(lt):
    """50 MB of one letter in a field no one reads is a few hundred bytes once compressed: every device held it for good
    and wrote it into its snapshot (ten such notes: 500 MB held, a 500 MB snapshot). Unknown fields are ignored
    (FORMAT.md), so they are dropped where the payload is opened."""
    pad = "a" * 5_000_000
    _write(lt.svc("Bea"), [("note.added", {"meeting": lt.mid, "text": f"n{i}", "kind": "note", "pad": pad}) for i in range(10)])
    ana = lt.svc("Ana")
    held = _held_after_delivery(lt)
    assert [n.text for n in ana.view.notes(lt.mid)] == [f"n{i}" for i in range(10)]  # the notes themselves fold
    assert held < 10 * 2**20, f"{held:,} bytes held after the ingest"
    assert not any("pad" in e.body for e in ana.view.events)
    ana.store.save_snapshot()
    assert ana.store._snapshot_path().stat().st_size < 2**20


def test_a_wrapped_key_numbered_past_64_bits_is_not_taken_and_saves_go_on(lt):
    """A dyad key wrapped with an epoch of 4,300 digits was kept; the channel's next key, one past it, made every later
    keystore save fail, so the member could write nothing more."""
    from circle.store.channels import ChannelService
    from circle.store.cohort import Part
    from circle.store.vault import Scope, ScopeKey

    bea, ana = lt.svc("Bea"), lt.svc("Ana")
    key = ScopeKey(os.urandom(16).hex(), os.urandom(32), Scope.DYAD, 10**4300 - 1, lt.id("Ana"))
    body = bea.store.keys.wrap_body(bea.store.id, [(key, "", "")], bea.store.readers([ana.view.member(lt.id("Ana"))]))
    bea.store.commit([Part("keys.wrapped", body, None)])
    lt.deliver("Ana", "Bea")
    assert all(k.epoch < 2**63 for k in ana.store.entry.keys().values())
    bea.store.record_private(lt.id("Ana"), "dyad.phase_set", {"phase": "closed"})
    lt.deliver("Ana", "Bea")
    ChannelService(ana).set_phase(lt.id("Bea"), "preparing")  # a new key for the channel, numbered past the one held
    ana.schedule("2026-12-17 14:00", "Still written")
    assert "Still written" in [m.title for m in ana.view.meetings()]


@pytest.mark.parametrize("clock", [2**63 - 1, 2**62], ids=["just under what decodes", "at the ceiling"])
def test_a_clock_at_the_ceiling_is_refused_by_the_fold_and_moves_no_ones_clock(lt, clock):
    """Decoding allows clocks below 2**63; one just under it, had it folded, made every member's next event 2**63, which
    no device decodes: no one could write again. The fold refuses clocks from 2**62 on, they move no one's clock, and
    citing one (every device cites the newest event of each journal) is no claim a governance event must be past."""
    mid, bea, ana = lt.mid, lt.svc("Bea"), lt.svc("Ana")
    _write(bea, [_spelled(lt, b'{"meeting":"%s","text":"far ahead","kind":"note"}' % mid.encode(), str(clock).encode())])
    bea.store.ingest(from_start=True)  # her own device reads her journal again (as after a restart): it refuses it too
    lt.deliver("Ana", "Bea")
    [odd] = [e for e in ana.view.events if e.lamport == clock]
    assert ana.view.refused()[odd.id] == "its clock is past what any member writes"
    assert ana.view.max_lamport < 2**62
    ana.add_note(mid, "a note after it")
    ana.set_away(lt.id("Ana"), True)  # a governance event: it cites Bea's newest event, the one far ahead
    lt.deliver("Bea", "Ana")
    assert [n.text for n in bea.view.notes(mid)] == ["a note after it"]
    assert bea.view.member(lt.id("Ana")).away and ana.view.member(lt.id("Ana")).away
    bea.add_note(mid, "and Bea still writes")
    lt.deliver("Ana", "Bea")
    assert [n.text for n in ana.view.notes(mid)] == ["a note after it", "and Bea still writes"]
