"""Forms whose last field is a choice, on a 100x30 terminal: the hint says which text box Enter submits from, and it does.

Enter on a choice opens it, so "Enter in the last box" was wrong where a choice
comes last (the new goal's "Who can read it", the new cohort's "Cadence"); and
the buttons of the goal form were below the bottom of its box until Tab reached them.
"""

from __future__ import annotations

import re

import pytest
from textual.widgets import Button, Input

from circle.screens.modals import FormBox, FormModal

from .conftest import opened, tab_through_in_view
from .test_goals_screen import open_goals

SIZE = (100, 30)


async def new_goal(pilot) -> None:
    await open_goals(pilot)
    await pilot.press("n")


async def new_cohort(pilot) -> None:
    await opened(pilot)
    await pilot.press("c")


def goal_set(app) -> bool:
    return any(g.title == "Lead a debrief" for g in app.screen.last.goals.values())


def cohort_created(app) -> bool:
    return any(c.name == "Dietitians North" for c in app.session.cohorts())


FORMS = {
    # how to open it, what to type in its text boxes, what the hint says, what submitting it made
    "new goal": (new_goal, {"title": "Lead a debrief", "measure": "two debriefs", "target": "2025-10-01"}, "Enter in “Target date”: Set", goal_set),
    "new cohort": (new_cohort, {"name": "Dietitians North", "purpose": "Peer supervision"}, "Enter in “Purpose”: Create", cohort_created),
}


def in_view(form: FormModal, widget) -> bool:
    """Shown whole: inside the form's box, and the box inside the screen (a field also inside the part that scrolls)."""
    inside = [form, form.query_one(".modal-box")] + ([form.query_one(FormBox)] if widget.id and widget.id.startswith("field-") else [])
    return bool(widget.region.height) and all(w.region.contains_region(widget.region) for w in inside)


@pytest.mark.parametrize("which", list(FORMS))
async def test_enter_submits_from_the_box_the_hint_names_and_the_buttons_are_in_view(app_for, which):
    open_form, typed, said, made = FORMS[which]
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormModal) and form.fields[-1].options  # a choice comes last
        hint = next(str(h.render()) for h in form.query(".modal-hint") if "Esc cancels" in str(h.render()))
        assert said in hint and "last box" not in hint
        assert all(in_view(form, b) for b in form.query(Button))  # Set and Cancel show without scrolling
        assert in_view(form, form.query(".modal-hint").last())
        await tab_through_in_view(pilot)  # every field still comes into view as Tab reaches it
        named = re.search(r"Enter in “(.+?)”", hint).group(1)
        field = next(f for f in form.fields if f.label.startswith(named))
        for name, text in typed.items():
            form.query_one(f"#field-{name}", Input).value = text
        form.query_one(f"#field-{field.name}", Input).focus()
        await pilot.pause()
        assert in_view(form, form.focused) and all(in_view(form, b) for b in form.query(Button))
        await pilot.press("enter")
        await opened(pilot)
        assert app.screen is not form and made(app)  # submitted, as the hint said
