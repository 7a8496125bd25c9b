"""Unlock: pick an identity on this device and enter its passphrase.

Several people may share one laptop at a site, each with their own identity.
The key derivation takes about a second on purpose, so it runs in a worker.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from circle.errors import CircleError
from circle.messages import Unlocked, UnlockFailed
from circle.widgets.member_text import name, plain

COMMON = frozenset({"password", "passphrase", "12345678", "123456789", "qwertyuiop", "iloveyou", "letmein1", "password1", "circlecircle"})


def passphrase_strength(p: str) -> str:
    """How hard a passphrase is to guess, in words (a rough guide: length and words count most)."""
    if len(p) < 8:
        return "too short: use at least 8 characters"
    if p.lower().replace(" ", "") in COMMON or len(set(p)) <= 3:
        return "weak: it is a very common or repetitive one"
    words = len(p.split())
    kinds = sum(1 for test in (str.islower, str.isupper, str.isdigit) if any(test(c) for c in p)) + any(not c.isalnum() for c in p)
    if len(p) >= 20 or words >= 4:
        return "strong: a long phrase is hard to guess"
    if len(p) >= 12 or words >= 3 or kinds >= 3:
        return "fair: a few more words would make it strong"
    return "weak: four ordinary words are easier to remember and much harder to guess"


class UnlockScreen(Screen[None]):
    """Pick who you are, type your passphrase, press Enter."""

    BINDINGS = [Binding("f1,question_mark", "app.help", "Help", key_display="?")]

    def __init__(self, home, identity: str | None = None) -> None:
        super().__init__(id="unlock")
        self.home = home
        self.preselect = identity

    def compose(self) -> ComposeResult:
        ids = self.home.identities()
        with Center(), Vertical(id="unlock-box"):
            yield Label("circle", id="unlock-title")
            yield Static("Peer mentoring circles, end-to-end encrypted.", id="unlock-tagline")
            if ids:
                chosen = ids[0].id
                if self.preselect:
                    chosen = next((i.id for i in ids if i.label.lower() == self.preselect.lower() or i.id.startswith(self.preselect)), chosen)
                yield Label("Who are you?", classes="unlock-label")
                labels = [(Text(name(i.label)), i.id) for i in ids]  # Select takes a Text where its type says str
                yield Select(labels, value=chosen, allow_blank=False, id="unlock-who")  # type: ignore[arg-type]
                yield Label("Passphrase", classes="unlock-label")
                yield Input(password=True, placeholder="your passphrase", id="unlock-pass")
                yield Button("Unlock", variant="primary", id="unlock-go")
            else:
                yield Static("No identity on this device yet. Create yours:", classes="unlock-label")
                yield Input(placeholder="your name, as your cohort knows you", id="unlock-name")
                yield Input(password=True, placeholder="a passphrase (8+ characters; a few words)", id="unlock-pass")
                yield Input(password=True, placeholder="the same passphrase again", id="unlock-again")
                yield Static("", id="unlock-strength")
                yield Button("Create identity", variant="primary", id="unlock-create")
            yield Static("", id="unlock-message")
        yield Footer()

    def on_mount(self) -> None:
        for i in self.query(Input):
            i.cursor_blink = getattr(self.app, "cursor_blink", True)
        target = "#unlock-name" if not self.home.identities() else "#unlock-pass"
        self.query_one(target, Input).focus()

    def _busy(self, text: str) -> None:
        self.query_one("#unlock-message", Static).update(text)
        self.query_one("#unlock-message").set_class(False, "-error")
        for b in self.query(Button):
            b.disabled = True

    @on(Input.Submitted, "#unlock-name")
    def name_entered(self) -> None:
        self.query_one("#unlock-pass", Input).focus()

    @on(Input.Changed, "#unlock-pass")
    def show_strength(self, event: Input.Changed) -> None:
        if self.query("#unlock-strength"):
            self.query_one("#unlock-strength", Static).update(f"Strength: {passphrase_strength(event.value)}" if event.value else "")

    @on(Input.Submitted, "#unlock-pass")
    @on(Input.Submitted, "#unlock-again")
    @on(Button.Pressed, "#unlock-go")
    @on(Button.Pressed, "#unlock-create")
    def submit(self, event: Input.Submitted | Button.Pressed) -> None:
        passphrase = self.query_one("#unlock-pass", Input).value
        if self.query("#unlock-name"):
            if isinstance(event, Input.Submitted) and event.input.id == "unlock-pass":
                self.query_one("#unlock-again", Input).focus()  # asked twice: a typo would lock you out
                return
            name = self.query_one("#unlock-name", Input).value
            if not name.strip():
                self._refuse("Type your name first", "as your cohort knows you", "#unlock-name")
                return
            if len(passphrase) < 8:
                self._refuse("That passphrase is too short", "use at least 8 characters; a few words are best", "#unlock-pass")
                return
            if self.query_one("#unlock-again", Input).value != passphrase:
                self._refuse("The two passphrases differ", "type the same passphrase twice", "#unlock-again")
                return
            self._busy("Creating your identity…")
            self.create(name, passphrase)
            return
        if not passphrase:
            self._refuse("Type your passphrase", "then press Enter", "#unlock-pass")  # and the cursor goes back to it
            return
        who = str(self.query_one("#unlock-who", Select).value)
        self._busy("Opening your keystore…")
        self.unlock(who, passphrase)

    @work(thread=True, exclusive=True, exit_on_error=False, group="unlock")
    def unlock(self, who: str, passphrase: str) -> None:
        try:
            session = self.home.unlock(passphrase, who, clock=self.app.clock)
        except CircleError as exc:
            title = "That passphrase did not open this identity" if type(exc).__name__ == "WrongPassphrase" else exc.title
            hint = "Check caps lock and try again. Nothing was changed." if type(exc).__name__ == "WrongPassphrase" else exc.hint
            self.post_message(UnlockFailed(title, hint))
            return
        self.post_message(Unlocked(session))

    @work(thread=True, exclusive=True, exit_on_error=False, group="unlock")
    def create(self, name: str, passphrase: str) -> None:
        try:
            session = self.home.create_identity(name, passphrase, clock=self.app.clock)
        except CircleError as exc:
            self.post_message(UnlockFailed(exc.title, exc.hint))
            return
        self.post_message(Unlocked(session, session.recovery_code()))

    def _refuse(self, title: str, hint: str, field: str) -> None:
        """Say what is wrong, keep what was typed, and put the cursor where it needs fixing."""
        msg = self.query_one("#unlock-message", Static)
        msg.update(plain(f"{title}: {hint}"))
        msg.set_class(True, "-error")
        if field == "#unlock-again":
            self.query_one(field, Input).value = ""
        self.query_one(field, Input).focus()

    @on(UnlockFailed)
    def show_failure(self, event: UnlockFailed) -> None:
        msg = self.query_one("#unlock-message", Static)
        msg.update(plain(f"{event.title}. {event.hint}".strip()))
        msg.set_class(True, "-error")
        for b in self.query(Button):
            b.disabled = False
        pw = self.query_one("#unlock-pass", Input)
        if not self.query("#unlock-name"):  # a wrong passphrase: type it again; a new identity keeps what was typed
            pw.value = ""
        pw.focus()
