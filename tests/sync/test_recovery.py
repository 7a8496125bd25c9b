"""A lost laptop: the recovery kit and code bring the identity back, its journals from the replica, nothing lost.

Real homes, the real litestream binary and a folder replica. Ana and Ben
share a cohort; Ana writes cohort events, a self note and a private message
to Ben, writes her kit, then keeps writing (the kit is older than her journal).
Her laptop is lost. On a new laptop, `circle recover` with the kit and the
code restores her identity, `sync --once` her journal; every event she wrote
is back, she writes on without a fork, and Ben sees what she writes.
"""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from circle.cli import main
from circle.crypto import recovery
from circle.errors import AlreadyExists, UsageError
from circle.store.channels import ChannelService
from circle.store.session import Home
from tests.figures import record
from tests.sync.helpers import PASS, bring_in, new_home, once

pytestmark = pytest.mark.slow


def texts(svc) -> set[str]:
    return {i.title for i in svc.view.agenda("")}


def test_a_lost_laptop_comes_back_from_the_kit_and_loses_nothing(tmp_path):
    loc = {"url": str(tmp_path / "shared-folder")}
    ana, ben = new_home(tmp_path, "Ana"), new_home(tmp_path, "Ben")
    cid = ana.create_cohort("Pharmacists West", replica=dict(loc)).id
    once(ana)
    bring_in(ana, cid, ben, loc)
    ben.cohort(cid).add_item("", "Ben's item, read on Ana's lost laptop")
    once(ben, ana)
    svc = ana.cohort(cid)
    for i in range(5):
        svc.add_item("", f"before the kit {i}")
    ChannelService(svc).add_note("only Ana reads this")
    ChannelService(svc).send(ben.id, "Ben, a word in private")
    code = ana.recovery_code()
    (tmp_path / "usb").mkdir()
    kit = ana.write_recovery_kit(tmp_path / "usb")  # a folder: the kit takes its own name there
    for i in range(3):
        svc.add_item("", f"after the kit {i}")  # the kit is older than the journal: the replica holds these
    once(ana)
    written = texts(svc)
    own_seq = svc.store.written()
    ana.close()
    shutil.rmtree(tmp_path / "ana")  # the laptop is gone

    home = Home(tmp_path / "new-laptop", calibrate=False)
    with pytest.raises(UsageError, match="does not open this kit"):
        home.recover(kit, recovery.format_code(bytes(20)), "a new pass phrase")
    back = home.recover(kit, code.upper().replace("-", " "), "a new pass phrase")
    assert back.id == ana.id and back.fingerprint == ana.fingerprint
    once(back)
    svc2 = back.cohort(cid)
    present = texts(svc2) & written
    print(f"recovery: {len(written)} items written, {len(present)} present after recovery; own journal {own_seq} events, {svc2.store.written()} back")
    record("crash", "a lost laptop, recovered from its kit", events_acknowledged=len(written), events_lost=len(written - present))
    assert present == written and svc2.store.written() == own_seq
    assert [n.text for n in ChannelService(svc2).notes()] == ["only Ana reads this"]
    assert [m.text for m in ChannelService(svc2).thread(ben.id)] == ["Ben, a word in private"]
    # She writes on from the new laptop; Ben sees it, and nobody sees a fork.
    svc2.add_item("", "from the new laptop")
    once(back, ben)
    assert "from the new laptop" in texts(ben.cohort(cid)) and texts(ben.cohort(cid)) >= written
    assert not ben.cohort(cid).store.alarms and not svc2.store.alarms
    with pytest.raises(AlreadyExists):
        home.recover(kit, code, "a new pass phrase")


def test_recover_from_the_command_line(tmp_path):
    loc = {"url": str(tmp_path / "shared-folder")}
    ana = new_home(tmp_path, "Ana")
    cid = ana.create_cohort("Pharmacists West", replica=dict(loc)).id
    ana.cohort(cid).add_item("", "kept")
    once(ana)
    code = ana.recovery_code()
    kit = ana.write_recovery_kit(tmp_path / "ana.kit")
    ana.close()
    shutil.rmtree(tmp_path / "ana")
    env = {"CIRCLE_HOME": str(tmp_path / "new"), "CIRCLE_PASSPHRASE": PASS, "CIRCLE_RECOVERY_CODE": code}
    r = CliRunner().invoke(main, ["recover", str(kit)], env=env)
    assert r.exit_code == 0, r.output
    assert "Recovered Ana" in r.stdout and "Pushed" in r.stdout
    r = CliRunner().invoke(main, ["agenda", "Pharmacists"], env=env)
    assert "kept" in r.stdout
    bad = CliRunner().invoke(main, ["recover", str(tmp_path / "nowhere.kit")], env={**env, "CIRCLE_HOME": str(tmp_path / "other")})
    assert bad.exit_code != 0 and bad.stderr.startswith("circle: the recovery kit cannot be read") and "Traceback" not in bad.output


def test_the_lost_laptop_found_again_sends_nothing_over_the_recovered_one(tmp_path):
    """Found again after its owner recovered on another laptop, the first laptop shipped its own ending of the journal
    over the other's: what the recovered laptop wrote was lost. It now sends nothing, and says why."""
    from circle.sync.service import CONTINUED_ELSEWHERE, SyncService

    loc = {"url": str(tmp_path / "shared-folder")}
    ana, ben = new_home(tmp_path, "Ana"), new_home(tmp_path, "Ben")
    cid = ana.create_cohort("Pharmacists West", replica=dict(loc)).id
    once(ana)
    bring_in(ana, cid, ben, loc)
    code = ana.recovery_code()
    (tmp_path / "usb").mkdir()
    kit = ana.write_recovery_kit(tmp_path / "usb")
    ana.cohort(cid).add_item("", "C, written on the laptop she then lost, never sent")
    back = Home(tmp_path / "new-laptop", calibrate=False).recover(kit, code, "a new pass phrase")
    once(back)
    back.cohort(cid).add_item("", "D, written on the recovered laptop")
    once(back)
    r = SyncService(ana).once()  # the lost laptop, found, syncs
    assert r.problems == [CONTINUED_ELSEWHERE] and r.pushed == 0
    from circle.sync import doctor
    from circle.sync import litestream as ls

    with ls.bounded():
        said = [(f.what, f.fix) for f in doctor.diagnose(ana) if not f.ok]
    assert any(what.endswith(doctor.CONTINUED) and fix.startswith("use the other laptop") for what, fix in said), said
    once(ben)
    assert "D, written on the recovered laptop" in texts(ben.cohort(cid))
    again = SyncService(back).once()  # the recovered laptop goes on as before
    assert not again.problems and again.pushed == 1
    back.cohort(cid).add_item("", "E, after")
    once(back, ben)
    assert {"D, written on the recovered laptop", "E, after"} <= texts(ben.cohort(cid))
