"""Text other people wrote, made safe to put in front of a person: no control character reaches a terminal.

Any cohort member can write a name, a title or a note, and every other
member's app and CLI shows it. A terminal obeys what it is sent: an ESC starts
a sequence that can clear the screen, rename the window (OSC 0) or hide a link
(OSC 8); BEL rings; BS and CR overwrite what came before; bidi overrides
reorder a line so it reads as something else. So everything a member wrote
goes through :func:`clean` (or :func:`clean_name`) before it is shown.

What a control character becomes is visible, so nothing is hidden silently:
C0 controls and DEL become their Unicode "control pictures" (ESC shows as
``␛``, BEL as ``␇``), C1 controls, bidi controls, lone surrogates and the
line and paragraph separators become ``�``. Ordinary Unicode (accents,
CJK, emoji, ``Ana Tūhoe``) is untouched. Markup is a separate matter: the UI
renders member text as plain ``Text``, never as markup.
"""

from __future__ import annotations

import re
from typing import Any

PLACEHOLDER = "\ufffd"  # what a C1 or bidi control shows as
ELLIPSIS = "…"

# Bidi embeddings and overrides (U+202A-U+202E), isolates (U+2066-U+2069) and the
# invisible direction marks (U+200E, U+200F, U+061C): each can make a line read
# as something else.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Characters that draw nothing and let two different names look the same.
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"

_UNSAFE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_BIDI}\\u2028\\u2029\\ud800-\\udfff]")
_ZERO_WIDTH_RE = re.compile(f"[{_ZERO_WIDTH}]")


_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def lone_surrogate(raw: bytes, doc: Any) -> bool:
    """Whether ``doc``, decoded from the JSON ``raw``, holds a lone surrogate anywhere (a key or a value, however deep).

    JSON may spell any UTF-16 code unit as an escape, and Python's decoder
    makes a string of a lone one: it cannot be written as UTF-8, so a snapshot,
    a front page or an export that met one failed. ``raw`` is strict UTF-8,
    so only an escape can make one; a document without such an escape (every
    payload circle writes) is not walked.
    """
    if _SURROGATE_ESCAPE.search(raw) is None:
        return False
    todo = [doc]
    while todo:  # a loop, not recursion: as deep as the decoder allowed
        v = todo.pop()
        if type(v) is str:
            if _SURROGATE.search(v):
                return True
        elif type(v) is dict:
            todo += v.keys()
            todo += v.values()
        elif type(v) is list:
            todo += v
    return False


def _picture(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # U+2400 block: ␀ ... ␟, in the order of the C0 controls
    if code == 0x7F:
        return "\u2421"  # ␡
    return PLACEHOLDER


def _single(match: re.Match[str]) -> str:
    ch = match.group()
    return " " if ch == "\t" else _picture(ch)


def _multi(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in ("\n", "\r\n", "\u2028", "\u2029"):
        return "\n"
    return " " if ch == "\t" else _picture(ch)


_UNSAFE_MULTI = re.compile(f"\\r\\n|{_UNSAFE.pattern}")


def clean(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control character made visible and harmless.

    Args:
        text: what someone wrote (a title, a note, an error hint naming people).
        multiline: keep line breaks (``\\n``; ``\\r\\n`` and the Unicode line and
            paragraph separators become ``\\n``). Otherwise a line break shows as ``␊``.

    Returns:
        The same text where each C0 control, DEL, C1 control, bidi control and
        lone surrogate is replaced by a visible placeholder and a tab by a
        space. Text without those characters comes back unchanged, and cleaning
        twice gives what cleaning once gave.
    """
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE_MULTI.sub(_multi, text) if multiline else _UNSAFE.sub(_single, text)


def _joins(ch: int) -> bool:
    """Whether a character is of a script spelt with joiners (Arabic to the scripts of South and Southeast Asia, as in
    ``می‌خواهم``) or part of an emoji (``👩🏽‍⚕️``): between two of them a joiner changes what is drawn."""
    return 0x0600 <= ch <= 0x1CFF or 0xA8E0 <= ch <= 0xABFF or 0xFB50 <= ch <= 0xFEFC or 0x2600 <= ch <= 0x27BF or ch == 0xFE0F or ch >= 0x1F000


def _zero_width(match: re.Match[str]) -> str:
    ch, text, at = match.group(), match.string, match.start()
    if ch in "\u200c\u200d" and 0 < at < len(text) - 1 and _joins(ord(text[at - 1])) and _joins(ord(text[at + 1])):
        return ch  # it shapes the letters or the emoji around it: part of how the name is spelt
    return ""


def clean_name(name: str) -> str:
    """A person's or a cohort's name (or a title) as :func:`clean` makes it, on one line, without zero-width characters.

    A zero-width space, joiner or byte-order mark inside a name draws nothing,
    so ``Ana`` and ``A\\u200bna`` would look the same while being two names. A
    joiner (U+200C, U+200D) between two letters of a script written with
    joiners, or inside an emoji, changes what is drawn, and stays.
    """
    return _ZERO_WIDTH_RE.sub(_zero_width, clean(name))


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in ``…`` when it was cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + ELLIPSIS
