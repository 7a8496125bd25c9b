"""The same person on several laptops: `circle device add`, `circle device remove`, `circle devices`.

\b
circle device add NAME -o FILE     a kit for another laptop of yours ('circle recover FILE' there)
circle device remove NAME          a lost laptop: what it writes from now on counts for nothing; new keys it never gets
circle devices [--json]            your laptops in each cohort
"""

from __future__ import annotations

from pathlib import Path

import click

from circle.cli.common import Context, echo, friendly, pass_ctx, plural
from circle.cli.meeting import json_out
from circle.models.text import clean_name
from circle.store.session import device_names


@click.group()
def device() -> None:
    """Your other laptops: add one (a kit to set it up), or remove a lost one.

    \b
    circle device add NAME -o FILE
    circle device remove NAME
    """


@device.command("add")
@click.argument("name")
@click.option("-o", "--output", "out", required=True, type=click.Path(), help="Where to write the device kit (a file, or a folder: a USB stick).")
@pass_ctx
@friendly
def device_add(c: Context, name: str, out: str) -> None:
    """Prepare another laptop of yours called NAME: each cohort is told of it, and its kit is written to FILE.

    On that laptop, 'circle recover FILE' with your recovery code sets it up;
    both laptops then write, and nothing either writes is lost.
    """
    s = c.unlock()
    path, announced = s.add_device(name, Path(out))
    s.close()
    echo(f"Wrote {path}: on the other laptop, 'circle recover {path.name}' with your recovery code.")
    echo(f"Announced in {plural(len(announced), 'cohort')}; run 'circle sync --once' so the other members follow it.")


@device.command("remove")
@click.argument("name")
@pass_ctx
@friendly
def device_remove(c: Context, name: str) -> None:
    """A lost or retired laptop of yours: what it writes from now on counts for nothing, and it reads nothing written after.

    The cohort and your private channels get new keys it never receives. It
    still holds what it had read and your signing key: if it may be in
    someone else's hands, ask a mentor to remove you and admit you again with
    a new identity.
    """
    s = c.unlock()
    done = s.remove_device(name)
    s.close()
    echo(f"Removed {clean_name(name)} in {plural(len(done), 'cohort')}; run 'circle sync --once' so every member knows.")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One line of JSON, for scripts.")
@pass_ctx
@friendly
def devices(c: Context, as_json: bool) -> None:
    """Your laptops in each cohort: which one this is, and which were removed."""
    s = c.unlock()
    out = []
    for cid in s.cohort_ids():
        svc = s.cohort(cid)
        me = svc.view.member(s.id)
        if me is None:
            continue
        mine = svc.store.entry.journal
        rows = [{"name": n, "this": j == mine, "removed": j in me.gone} for j, n in device_names(me).items()]
        out.append({"cohort": svc.view.cohort().name, "devices": rows})
    if as_json:
        json_out({"cohorts": out})
        return
    for d in out:
        echo(clean_name(d["cohort"]))
        for r in d["devices"]:
            echo(f"  {clean_name(r['name'])}{' (this one)' if r['this'] else ''}{' · removed' if r['removed'] else ''}")


COMMANDS = [device, devices]
