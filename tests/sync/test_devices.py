"""The same person on two laptops: both write, nothing is lost; a lost one is removed and counts for nothing after.

Real homes, the real litestream binary and a folder replica. Ana's first
laptop prepares a device kit; her ward laptop is set up from it with
`Home.recover`. Both write at once; Ben and both of Ana's laptops end with
every event, no fork. Keys made on one laptop (a new epoch, a private
channel) reach the other. When the ward laptop is lost, Ana removes it: what
it writes after that is held aside on every device.
"""

from __future__ import annotations

import shutil

import pytest

from circle.crypto.identity import Identity
from circle.errors import UsageError
from circle.store.channels import ChannelService
from circle.store.cohort import Part
from circle.store.session import Home
from tests.figures import record
from tests.security.laptops import Laptops, tally
from tests.sync.helpers import bring_in, new_home, once

pytestmark = pytest.mark.slow


def items(svc) -> set[str]:
    return {i.title for i in svc.view.agenda("")}


def _doctor(session) -> list[str]:
    from circle.sync import doctor
    from circle.sync import litestream as ls

    with ls.bounded():
        return [f"{f.what} {f.fix}" for f in doctor.diagnose(session) if not f.ok]


def ana_ben_and_a_kit(tmp_path):
    """Ana founds a cohort on a folder replica and brings Ben in, then prepares a kit for her ward laptop:
    (Ana, Ben, the cohort id, the kit, Ana's recovery code)."""
    loc = {"url": str(tmp_path / "shared-folder")}
    ana, ben = new_home(tmp_path, "Ana"), new_home(tmp_path, "Ben")
    cid = ana.create_cohort("Pharmacists West", replica=dict(loc)).id
    once(ana)
    bring_in(ana, cid, ben, loc)
    code = ana.recovery_code()
    kit, announced = ana.add_device("ward laptop", tmp_path / "ward.kit")
    assert announced == [cid]
    return ana, ben, cid, kit, code


def test_two_laptops_of_one_person_write_at_once_and_nothing_is_lost(tmp_path):
    ana, ben, cid, kit, code = ana_ben_and_a_kit(tmp_path)
    once(ana)
    ward = Home(tmp_path / "ward", calibrate=False).recover(kit, code, "ward pass phrase")
    once(ward)
    assert ward.cohort(cid).store.entry.journal != ana.cohort(cid).store.entry.journal

    written = set()
    for i in range(4):  # both laptops write without seeing each other
        ana.cohort(cid).add_item("", f"first laptop {i}")
        ward.cohort(cid).add_item("", f"ward laptop {i}")
        written |= {f"first laptop {i}", f"ward laptop {i}"}
    ben.cohort(cid).add_item("", "from Ben")
    written.add("from Ben")
    for _ in range(2):
        once(ana, ward, ben)
    for who in (ana, ward, ben):
        got = items(who.cohort(cid)) & written
        print(f"two devices: {len(written)} written, {len(got)} on {who.name}'s {'ward laptop' if who is ward else 'laptop'}")
        record(
            "crash",
            f"two laptops of one person writing at once: on {who.name}'s {'ward laptop' if who is ward else 'laptop'}",
            events_acknowledged=len(written),
            events_lost=len(written - got),
        )
        assert got == written
        assert not who.cohort(cid).store.alarms
    assert ana.cohort(cid).view.digest() == ward.cohort(cid).view.digest() == ben.cohort(cid).view.digest()

    # Keys made on one laptop reach the other: a new epoch, and a private channel with Ben.
    ward.cohort(cid).rotate_epoch()
    ward.cohort(cid).add_item("", "under the ward laptop's epoch")
    ChannelService(ward.cohort(cid)).send(ben.id, "private, from the ward laptop")
    for _ in range(2):
        once(ward, ana, ben)
    assert "under the ward laptop's epoch" in items(ana.cohort(cid)) and "under the ward laptop's epoch" in items(ben.cohort(cid))
    assert [m.text for m in ChannelService(ana.cohort(cid)).thread(ben.id)] == ["private, from the ward laptop"]
    assert [m.text for m in ChannelService(ben.cohort(cid)).thread(ana.id)] == ["private, from the ward laptop"]
    ana.cohort(cid).add_item("", "first laptop, after the epoch")  # and the first laptop writes with it
    once(ana, ben)
    assert "first laptop, after the epoch" in items(ben.cohort(cid))

    # The ward laptop is lost: Ana removes it from her first laptop. What it writes after that counts nowhere.
    ana.remove_device("ward laptop")
    once(ana, ben)
    ward.cohort(cid).add_item("", "written on the lost laptop")
    once(ward, ben, ana)
    for who in (ana, ben):
        assert "written on the lost laptop" not in items(who.cohort(cid))
        assert "ward laptop 3" in items(who.cohort(cid))  # what it wrote before stays
    tally("a removed device writes on", 1, int("written on the lost laptop" in items(ben.cohort(cid))))

    # It reads nothing written after its removal: the cohort and Ana's channel with Ben have keys it never got.
    ben.cohort(cid).add_item("", "after the ward laptop was lost")
    ChannelService(ben.cohort(cid)).send(ana.id, "private, after the loss")
    # An altered copy on the lost laptop still holds Ana's signing key: it announces a device of its own to get keys.
    thief = {"member": ana.id, "journal": "ab" * 16, "device": "thief", "reading": Identity.generate().public().reading.hex()}
    ward.cohort(cid).store.commit([Part("member.device_added", thief, ward.cohort(cid).store._newest_held_key())])
    for _ in range(2):
        once(ben, ana, ward)
    assert "after the ward laptop was lost" in items(ana.cohort(cid))
    assert ChannelService(ana.cohort(cid)).thread(ben.id)[-1].text == "private, after the loss"
    lost = ward.cohort(cid)
    read = int("after the ward laptop was lost" in items(lost)) + int("private, after the loss" in [m.text for m in ChannelService(lost).thread(ben.id)])
    current = ben.cohort(cid).view.current_epoch()
    assert lost.store.keys.sealing_for(current.key_id, current.commit) is None
    assert "thief" not in dict(ben.cohort(cid).view.member(ana.id).devices).values()
    print(f"a removed device: 2 things written after its removal, {read} read on it")
    tally("a removed device reads what comes after", 2, read)
    assert read == 0

    # The lost laptop, once it has the removal, says so instead of writing what counts for nothing.
    with pytest.raises(UsageError, match="this laptop was removed from your devices"):
        lost.add_item("", "one more from the lost laptop")
    with pytest.raises(UsageError, match="this laptop was removed"):
        ChannelService(lost).add_note("a note only she reads, on the lost laptop")

    # Its journal then gone from the replica (the folder copied or emptied): nothing more is owed from a removed laptop,
    # so nothing is wrong. Every sync said it was, and that it would come back when they synced: it never would.
    gone = lost.store.entry.journal
    path = dict(ana.cohort(cid).view.member(ana.id).journals)[gone]
    shutil.rmtree(tmp_path / "shared-folder" / path)
    once(ana, ben)  # no problem said
    assert not [f for f in _doctor(ana) if gone[:8] in f or "nothing from Ana" in f]


def test_nobody_adds_or_removes_a_device_of_someone_else(ward: Laptops):
    """Ben's altered client gives Cleo a device (a journal he writes), claims Ana's journal as his device, removes Ana's laptop."""
    ben = ward.store("Ben")
    cleo, ana = ward.svc("Cleo").view.member(ward.id("Cleo")), ward.svc("Ana").view.member(ward.id("Ana"))
    reading = Identity.generate().public().reading.hex()
    ben.record("member.device_added", {"member": cleo.id, "journal": "ab" * 16, "device": "Cleo's other laptop", "reading": reading})
    ben.record("member.device_added", {"member": ward.id("Ben"), "journal": ana.journal, "device": "mine now", "reading": reading})
    ben.record("member.device_removed", {"member": ana.id, "journal": ana.journal})
    ward.sync()
    view = ward.svc("Ana").view
    refused = set(view.refused().values())
    assert {
        "only the member themselves adds a device of theirs",
        "names a journal that is someone else's or used before",
        "only the member themselves or a mentor removes a device",
    } <= refused
    assert view.author_of(ana.journal) == ana.id and not view.member(ward.id("Cleo")).devices
    ward.svc("Ana").add_item("", "Ana still counts")
    ward.sync()
    assert "Ana still counts" in items(ward.svc("Cleo"))
    tally(
        "devices added or removed for someone else",
        3,
        3
        - len(
            refused
            & {
                "only the member themselves adds a device of theirs",
                "names a journal that is someone else's or used before",
                "only the member themselves or a mentor removes a device",
            }
        ),
    )


def test_keys_made_before_a_device_was_seen_reach_it(tmp_path):
    """Ben starts an epoch and a private channel with Ana before he has seen her new laptop: her first laptop passes them on."""
    ana, ben, cid, kit, code = ana_ben_and_a_kit(tmp_path)
    ben.cohort(cid).rotate_epoch()  # Ben has not seen the ward laptop: he wraps to the devices he knows
    ben.cohort(cid).add_item("", "under Ben's new epoch")
    ChannelService(ben.cohort(cid)).send(ana.id, "for Ana, in a new channel")
    once(ben, ana)
    ward = Home(tmp_path / "ward", calibrate=False).recover(kit, code, "ward pass phrase")
    for _ in range(2):
        once(ward, ana, ben)
    assert "under Ben's new epoch" in items(ward.cohort(cid))
    assert [m.text for m in ChannelService(ward.cohort(cid)).thread(ben.id)] == ["for Ana, in a new channel"]
    ward.cohort(cid).add_item("", "the ward laptop writes under it")
    once(ward, ben)
    assert "the ward laptop writes under it" in items(ben.cohort(cid))


def test_a_second_device_joins_and_founds_cohorts_and_reads_with_its_own_keys(tmp_path):
    """A laptop set up from a device kit joins Ben's cohort and founds one Ben joins: keys reach it, never the first laptop's keys."""
    loc = {"url": str(tmp_path / "shared-folder")}
    ana, ben = new_home(tmp_path, "Ana"), new_home(tmp_path, "Ben")
    code = ana.recovery_code()
    kit, announced = ana.add_device("ward laptop", tmp_path / "ward.kit")
    assert announced == []
    ward = Home(tmp_path / "ward", calibrate=False).recover(kit, code, "ward pass phrase")
    assert ward.public == ana.public and ward.reading and ward.author.reading != ana.author.reading

    bens = ben.create_cohort("Ben's cohort", replica=dict(loc)).id
    once(ben)
    bring_in(ben, bens, ward, loc)
    wards = ward.create_cohort("Ana's cohort", replica=dict(loc)).id
    once(ward)
    bring_in(ward, wards, ben, loc)
    for cid in (bens, wards):
        ben.cohort(cid).rotate_epoch()  # wrapped to the members' devices: Ana's ward laptop with its own keys
        ben.cohort(cid).add_item("", "after Ben's rotation")
    for _ in range(2):
        once(ben, ward)
    for cid in (bens, wards):
        assert "after Ben's rotation" in items(ward.cohort(cid))
        ward.cohort(cid).add_item("", "the ward laptop writes")
    once(ward, ben)
    for cid in (bens, wards):
        assert "the ward laptop writes" in items(ben.cohort(cid))
        assert dict(ben.cohort(cid).view.member(ana.id).readers) == {ward.cohort(cid).store.entry.journal: ward.reading}
