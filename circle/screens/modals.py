"""Modals that return values: forms, pickers, confirmations, help.

Titles, labels and options often quote what members wrote (a note's item, a
member's name), so every one of them is shown as plain, cleaned text, never
as markup (see :mod:`circle.widgets.member_text`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.signal import Signal
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from circle.errors import CircleError
from circle.store.agreements import NO_CONFLICT
from circle.store.service import FieldError
from circle.widgets.member_text import line, plain


@dataclass(frozen=True)
class Field:
    """One field of a :class:`FormModal`. With ``options`` it is a choice, else a text input."""

    name: str
    label: str
    value: str = ""
    placeholder: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    password: bool = False


COI_CHOOSE, COI_NONE, COI_SOME = "", "none", "some"


def conflict_fields(about: str, declared: str | None = None) -> list[Field]:
    """What every signature asks: a conflict of interest with ``about`` or none, said outright, and the conflict declared.

    ``declared`` is the signer's declaration so far ("" for none, None if they have not signed).
    """
    choice = COI_CHOOSE if declared is None else COI_SOME if declared else COI_NONE
    options = [("Choose one…", COI_CHOOSE), ("No, none to declare", COI_NONE), ("Yes, I declare one (describe it below)", COI_SOME)]
    return [
        Field("declare", f"Do you have a conflict of interest with {about}?", choice, options=options),
        Field("coi", "The conflict you declare", declared or "", placeholder="for example: I line-manage one of the mentees"),
    ]


def conflict_declared(values: dict[str, str]) -> str:
    """The declaration :func:`conflict_fields` took, as signing takes it: "none", or the conflict described.

    Raises:
        FieldError: no choice was made, or a conflict was declared and not described.
    """
    declare, text = values["declare"], values["coi"].strip()
    if declare == COI_CHOOSE:
        raise FieldError("declare", "say whether you have a conflict of interest", "choose none, or declare one and describe it")
    if declare == COI_NONE:
        return "none"
    if not text or text.lower().rstrip(".") in NO_CONFLICT:
        raise FieldError("coi", "describe the conflict you declare", "or choose 'No, none to declare' above")
    return text


class FormBox(VerticalScroll, can_focus=False):
    """A form's fields: they scroll when the form is taller than the terminal (Tab brings each field into view).

    As tall as they are, at most what the form's box leaves above its :class:`FormFoot`."""

    DEFAULT_CSS = """
    FormBox {
        height: auto;
        max-height: 1fr;
        scrollbar-size-vertical: 1;
    }
    """


class FormFoot(Vertical):
    """The bottom of a form's box: what is wrong with the form, what the keys do, and its buttons.

    Docked below the fields, so it stays in view while they scroll: on a short
    terminal the buttons were below the bottom of the box until Tab reached
    them. Outside the fields' :class:`FormBox`, so Tab reaches it after every field."""

    DEFAULT_CSS = """
    FormFoot {
        dock: bottom;
        height: auto;
    }
    """


def box_name(label: str) -> str:
    """What a hint calls a field: its label without the part in brackets ("Target date (YYYY-MM-DD)" is "Target date")."""
    return line(label.split(" (", 1)[0], 40)


class FormModal(ModalScreen[dict[str, str] | None]):
    """A small form. Enter in the last field (or the submit button) returns the values; Escape cancels.

    With ``check``, submitting runs it first (the command the form is for):
    an error keeps the form open with everything typed, and says what is
    wrong beside the field it names (a :class:`FieldError`), or under the form.

    Args:
        title: what the form does.
        fields: its fields, in order.
        submit: the submit button's label.
        check: runs the command with the values; raises :class:`CircleError` to keep the form open.
        note: a line of text under the fields (what the form cannot do, for example).
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, fields: list[Field], submit: str = "Save", check: Callable[[dict[str, str]], Any] | None = None, note: str = "") -> None:
        super().__init__(classes="circle-modal")
        self.form_title = title
        self.fields = fields
        self.submit_label = submit
        self.check = check
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            with FormBox():
                yield Label(plain(self.form_title), classes="modal-title")
                for f in self.fields:
                    yield Label(plain(f.label), classes="modal-label")
                    if f.options:
                        options = [(Text(line(lbl)), val) for lbl, val in f.options]  # Select takes a Text where its type says str
                        yield Select(options, value=f.value or f.options[0][1], allow_blank=False, id=f"field-{f.name}")  # type: ignore[arg-type]
                    else:
                        # An edit keeps what is there: typing goes on from the end instead of replacing it all.
                        yield Input(value=f.value, placeholder=f.placeholder, password=f.password, id=f"field-{f.name}", select_on_focus=False)
                    yield Static("", id=f"error-{f.name}", classes="modal-error")
                if self.note:
                    yield Static(plain(self.note), classes="modal-hint")
            with FormFoot():
                yield Static("", id="error-form", classes="modal-error")
                yield Static(plain(self.keys_hint()), classes="modal-hint")
                with Horizontal(classes="modal-buttons"):
                    yield Button(self.submit_label, variant="primary", id="submit")
                    yield Button("Cancel", id="cancel")

    def keys_hint(self) -> str:
        """What Enter, Tab and Escape do in this form (Enter in a text box moves on; in the last text box it submits).

        Enter on a choice opens it, so when a choice comes after the last text box, "the last box" would name
        the choice: the hint names the text box instead ("Enter in “Target date”: Set")."""
        boxes = [f for f in self.fields if not f.options]
        if not boxes:
            enter = f"Enter on {self.submit_label}"
        elif len(self.fields) == 1:
            enter = f"Enter: {self.submit_label}"
        elif len(boxes) == 1:
            enter = f"Enter in the text box: {self.submit_label}"
        elif boxes[-1] is self.fields[-1]:
            enter = f"Enter in the last box: {self.submit_label}"
        else:
            enter = f"Enter in “{box_name(boxes[-1].label)}”: {self.submit_label}"
        return " · ".join([*(["Tab: next field"] if len(self.fields) > 1 else []), enter, "Esc cancels"])

    def on_mount(self) -> None:
        for i in self.query(Input):
            i.cursor_blink = getattr(self.app, "cursor_blink", True)
        for e in self.query(".modal-error"):
            e.display = False
        self.call_after_refresh(self.query_one(FormBox).scroll_home, animate=False)  # a tall form opens at its title

    def values(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for f in self.fields:
            w = self.query_one(f"#field-{f.name}")
            out[f.name] = str(w.value)
        return out

    def show_error(self, field: str | None, title: str, hint: str = "") -> None:
        """Say what is wrong beside ``field`` (under the form when the form has no such field); keep what was typed."""
        for e in self.query(".modal-error"):
            e.display = False
        target = field if field and any(f.name == field for f in self.fields) else "form"
        box = self.query_one(f"#error-{target}", Static)
        box.update(plain(f"⚠ {title}" + (f": {hint}" if hint else "")))
        box.display = True
        if target != "form":
            self.query_one(f"#field-{target}").focus()
            self.call_after_refresh(box.scroll_visible, animate=False)  # the field and what is said under it, both in view

    def _submit(self) -> None:
        values = self.values()
        if self.check is not None:
            try:
                self.check(values)
            except CircleError as exc:
                self.show_error(getattr(exc, "field", None), exc.title, exc.hint)
                return
        self.dismiss(values)

    @on(Input.Changed)
    @on(Select.Changed)
    def edited(self, event: Input.Changed | Select.Changed) -> None:
        """What was said about a field goes once the person changes it: it spoke of what was there."""
        name = (event.control.id or "").removeprefix("field-")
        if name and (box := self.query(f"#error-{name}")):
            box.first().display = False

    @on(Input.Submitted)
    def next_or_submit(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self._submit()
        else:
            self.focus_next()

    @on(Button.Pressed, "#submit")
    def submit(self) -> None:
        self._submit()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class PickModal(ModalScreen[str | None]):
    """Pick one of a few options (members, meetings); returns its id."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, options: list[tuple[str, str]]) -> None:
        super().__init__(classes="circle-modal")
        self.pick_title = title
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(plain(self.pick_title), classes="modal-title")
            yield OptionList(*[Option(Text(line(lbl)), id=oid) for oid, lbl in self.options], id="pick")
            yield Static("Enter picks · Escape cancels", classes="modal-hint")

    @on(OptionList.OptionSelected)
    def picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool]):
    """Yes or no: y or Enter says yes, n or Escape no."""

    BINDINGS = [Binding("escape", "no", "No"), Binding("y", "yes", "Yes"), Binding("n", "no", "No")]

    def on_mount(self) -> None:
        self.query_one("#yes" if self.default_yes else "#no", Button).focus()  # Enter says what the highlighted button says

    def __init__(self, question: str, yes: str = "Yes", no: str = "No", default_yes: bool = True) -> None:
        super().__init__(classes="circle-modal")
        self.question = question
        self.yes_label = yes
        self.no_label = no
        self.default_yes = default_yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static(plain(self.question), classes="modal-title")
            with Horizontal(classes="modal-buttons"):
                yield Button(f"{self.yes_label} (y)", variant="primary", id="yes")
                yield Button(f"{self.no_label} (n)", id="no")

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class HelpModal(ModalScreen[None]):
    """Every key of the screen underneath and of the app, with what it does."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__(classes="circle-modal")
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box help-box"):
            yield Label("Keys", classes="modal-title")
            with VerticalScroll(id="help-scroll"):
                for title, rows in self.sections:
                    yield Label(plain(title), classes="help-section")
                    width = max((len(k) for k, _ in rows), default=4)
                    yield Static(plain("\n".join(f"  {k.ljust(width)}  {d}" for k, d in rows)), classes="help-rows")
            yield Static("Escape closes", classes="modal-hint")

    def action_close(self) -> None:
        self.dismiss(None)


class ReadModal(ModalScreen[None]):
    """A long text to read in full (a note cut short in a list, codes to read aloud, the sync report).

    Args:
        title: what the text is.
        text: the text, shown as written (cleaned, never markup).
        follow: a signal and how to turn what it publishes into the text, to
            keep the text current while the modal is open.
    """

    BINDINGS = [Binding("escape,q,enter", "close", "Close")]

    def __init__(self, title: str, text: str, follow: tuple[Signal[Any], Callable[[Any], str]] | None = None) -> None:
        super().__init__(classes="circle-modal")
        self.read_title = title
        self.text = text
        self.follow = follow

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box read-box"):
            yield Label(plain(self.read_title), classes="modal-title")
            with VerticalScroll(id="read-scroll"):
                yield Static(plain(self.text), id="read-text")
            yield Static("Escape closes", classes="modal-hint")

    def on_mount(self) -> None:
        if self.follow is not None:
            signal, to_text = self.follow
            signal.subscribe(self, lambda value: self.show_text(to_text(value)))

    def show_text(self, text: str) -> None:
        """Replace the text (only when it changed: an update lays the modal out again)."""
        if text != self.text:
            self.text = text
            self.query_one("#read-text", Static).update(plain(text))

    def action_close(self) -> None:
        self.dismiss(None)
