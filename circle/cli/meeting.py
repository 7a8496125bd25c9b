"""Commands of the meeting room: `circle agenda` and `circle demo`."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from circle.cli.common import Context, echo, friendly, pass_ctx
from circle.models.text import clean_name


@click.command()
@click.option("--no-tui", is_flag=True, help="Only create the demo home and print where it is.")
@click.pass_context
@friendly
def demo(ctx: click.Context, no_tui: bool) -> None:
    """Create a demo cohort in a fresh home and open it.

    Seven people (a supervising mentor and six members), eight past meetings,
    the next one with its agenda started and one after it. Every demo identity
    uses the same printed passphrase.
    """
    from circle.demo import DEMO_PASSPHRASE, PEOPLE, build_demo

    c: Context = ctx.obj
    explicit = ctx.parent is not None and ctx.parent.params.get("home")
    root = c.home.root if explicit else Path(tempfile.mkdtemp(prefix="circle-demo-")) / "home"
    echo(f"Building the demo cohort in {root} …", err=True)
    build_demo(root)
    echo(str(root))
    echo(f"Demo passphrase (every identity): {DEMO_PASSPHRASE}", err=True)
    echo("Identities: " + ", ".join(f"{n} ({r})" for n, r, _ in PEOPLE), err=True)
    echo(f"Open it again later with: circle --home {root}", err=True)
    if not no_tui:
        # Open it already unlocked: the person did not choose this passphrase and has not seen it yet.
        from circle.app import make_app
        from circle.store.session import Home
        from circle.sync.service import SyncService

        session = Home(root).unlock(DEMO_PASSPHRASE, c.identity or PEOPLE[4][0])
        app = make_app(root, identity=session.name, session=session, sync_factory=SyncService)
        app.run()
        session.close()
        echo(f"The demo home stays at {root}; open it again with: circle --home {root}")
        echo(f"Demo passphrase (every identity): {DEMO_PASSPHRASE}")


class _AgendaGroup(click.Group):
    """`circle agenda COHORT` lists; `circle agenda add COHORT TITLE` adds."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_AgendaGroup)
def agenda() -> None:
    """The next meeting's agenda.

    \b
    circle agenda COHORT
    circle agenda add COHORT TITLE [--owner NAME] [--minutes N]
    """


@agenda.command("list", hidden=True)
@click.argument("cohort")
@pass_ctx
@friendly
def agenda_list(c: Context, cohort: str) -> None:
    """List the next meeting's agenda of COHORT (name or id)."""
    svc = c.unlock().find_cohort(cohort)
    m = svc.next_meeting()
    view = svc.view
    if m is None:
        echo(f"{clean_name(view.cohort().name)}: no meeting scheduled.")
        return
    fac = svc.facilitator(m.id)
    echo(f"{clean_name(view.cohort().name)} · {m.at} · {m.title or 'Meeting'} · facilitator {clean_name(view.name_of(fac)) if fac else 'nobody eligible'}")
    items = view.agenda(m.id)
    if not items:
        echo("  (no items yet: add one with 'circle agenda add COHORT TITLE')")
    for i in items:
        mark = "x" if i.status == "done" else ("~" if i.carried_from else "-")
        echo(f"  {mark} {i.title}  ({clean_name(view.name_of(i.owner))}, {i.minutes} min)")


@agenda.command("add")
@click.argument("cohort")
@click.argument("title")
@click.option("--owner", default=None, help="Who brings it (a member's name; default: you).")
@click.option("--minutes", default=10, type=click.IntRange(1, 240), show_default=True, help="Timebox.")
@pass_ctx
@friendly
def agenda_add(c: Context, cohort: str, title: str, owner: str | None, minutes: int) -> None:
    """Add TITLE to the next meeting's agenda of COHORT."""
    from circle.errors import NotFound

    svc = c.unlock().find_cohort(cohort)
    m = svc.next_meeting()
    if m is None:
        raise NotFound("no meeting scheduled", "schedule one in the app (cohort screen, s) first")
    owner_id = svc.member_by_name(owner).id if owner else ""
    svc.add_item(m.id, title, owner_id, minutes)
    svc.store.flush()
    echo(f"Added to {m.at}: {title} ({minutes} min)")


COMMANDS = [demo, agenda]
