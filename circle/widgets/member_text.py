"""Text from other people, ready for a widget: cleaned of control characters, cut to fit, never markup.

Any cohort member can write a name, a title or a note that every other
member's app shows. So every string a member wrote goes through one of these
before it reaches a widget, and widgets get it as :class:`rich.text.Text`
(``Text.append`` and ``Text(...)`` never parse markup), never as a ``str``
that Textual would read as content markup: ``[/]`` would crash the app and
``[@click=app.quit]`` would quit it on a click.

Lists cut long text with an ellipsis so a 10,000-character name cannot push
everything else off the screen; where the app offers to read it all (a note),
the whole text is kept.
"""

from __future__ import annotations

from rich.text import Text

from circle.models.text import clean, clean_name, shorten

NAME_CHARS = 60  # a person's or a cohort's name in a row, a title or a sentence
LINE_CHARS = 200  # a title (an agenda item, an action, a meeting): what circle itself lets people type
BLOCK_CHARS = 20_000  # a note or a charter field shown whole (a scrolling panel)


def name(value: str, limit: int = NAME_CHARS) -> str:
    """A name (member, cohort) as one clean line without zero-width characters, cut to ``limit``."""
    return shorten(clean_name(value), limit)


def line(value: str, limit: int = LINE_CHARS) -> str:
    """One line of member text (a title, an anonymous line), cleaned and cut to ``limit``."""
    return shorten(clean(value), limit)


def block(value: str, limit: int = BLOCK_CHARS) -> str:
    """Member text that may span lines (a note, a charter field), cleaned; only absurd lengths are cut."""
    return shorten(clean(value, multiline=True), limit)


def plain(value: str, style: str = "") -> Text:
    """Text that renders exactly as written: cleaned, and never read as markup."""
    return Text(clean(value, multiline=True), style=style)
