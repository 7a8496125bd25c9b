"""`circle status`: one screen of who you are, your cohorts, their next meetings, what is unsent and when something last came in."""

from __future__ import annotations

import time
from typing import Any

import click

from circle.cli.common import Context, echo, friendly, pass_ctx, plural
from circle.cli.meeting import json_out
from circle.models.mentoring import ratio_warnings
from circle.models.text import clean_name
from circle.store.service import CohortService
from circle.sync.status import ago


def cohort_status(svc: CohortService) -> dict[str, Any]:
    """One cohort's line of the status: members, next meeting, unsent events, when a peer's journal last came in."""
    from circle.sync.service import written

    store, view = svc.store, svc.view
    nxt = svc.next_meeting()
    record = store.vault.journal(store.entry.journal)
    peers = [store.journal_path(j) for j in store.known_journals() if j != store.entry.journal and j not in store.entry.retired]
    received = max((p.stat().st_mtime for p in peers if p.exists()), default=None)
    fac = svc.facilitator(nxt.id) if nxt else ""
    return {
        "id": svc.id,
        "name": view.cohort().name or "(waiting to be admitted)",
        "members": len(view.members()),
        "next_meeting": {"at": nxt.at, "title": nxt.title, "facilitator": view.name_of(fac) if fac else None} if nxt else None,
        "unsent": max(0, written(store) - (record.sent if record else 0)),
        "last_received": received,
        "warnings": ratio_warnings(view),
    }


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One line of JSON, for scripts.")
@pass_ctx
@friendly
def status(c: Context, as_json: bool) -> None:
    """Who you are, your cohorts, each one's next meeting, what is not sent yet and when something last came in."""
    s = c.unlock()
    cohorts = [cohort_status(s.cohort(cid)) for cid in s.cohort_ids()]
    cohorts.sort(key=lambda d: (d["name"].lower(), d["id"]))
    gaps = s.kit_gaps()
    kit = {"written": s.vault.kit_written or None, "missing_cohorts": None if gaps is None else [d["name"] for d in cohorts if d["id"] in gaps]}
    if as_json:
        json_out({"identity": {"name": s.name, "id": s.id, "fingerprint": s.fingerprint}, "home": str(c.home.root), "cohorts": cohorts, "recovery_kit": kit})
        return
    echo(f"{clean_name(s.name)} · fingerprint {s.fingerprint}")
    echo(f"Home: {c.home.root}")
    if s.vault.recovery_secret is None:
        echo("Recovery kit: this identity has no recovery code yet: 'circle recovery-kit --new-code -o FILE' makes one and writes the kit.")
    elif gaps is None:
        echo("Recovery kit: none written yet: 'circle recovery-kit -o FILE' (to a USB stick), with the code you wrote down at init.")
    elif gaps:
        echo(f"Recovery kit: it does not hold {', '.join(clean_name(n) for n in kit['missing_cohorts'])}: write it again ('circle recovery-kit -o FILE').")
    else:
        echo(f"Recovery kit: written {time.strftime('%Y-%m-%d', time.localtime(s.vault.kit_written))}, holds every cohort.")
    if not cohorts:
        echo("No cohorts yet: create one with 'circle cohort create NAME', or join one with 'circle join CODE'.")
    now = time.time()
    for d in cohorts:
        echo("")
        echo(f"{clean_name(d['name'])} ({plural(d['members'], 'member')})")
        m = d["next_meeting"]
        if m:
            who = clean_name(m["facilitator"]) if m["facilitator"] else "nobody eligible"
            echo(f"  next meeting   {m['at']}{'  ' + m['title'] if m['title'] else ''} · facilitator {who}")
        else:
            echo("  next meeting   none scheduled")
        echo(f"  not yet sent   {plural(d['unsent'], 'event')}")
        got = d["last_received"]
        echo(f"  last received  {ago(now - got) + ' ago' if got else 'nothing yet'}")
        for w in d["warnings"]:
            echo(f"  warning        {w}")


COMMANDS = [status]
