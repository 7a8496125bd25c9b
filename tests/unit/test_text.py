"""Member text made safe for a terminal: no control or bidi character survives, ordinary Unicode is untouched."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from circle.models.text import ELLIPSIS, clean, clean_name, shorten

BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
ZERO_WIDTH = {0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF}


def unsafe(ch: str, multiline: bool) -> bool:
    """What must never reach a terminal: C0 (but a kept newline), DEL, C1, bidi controls, surrogates, U+2028/9."""
    c = ord(ch)
    if multiline and ch == "\n":
        return False
    return c < 0x20 or 0x7F <= c <= 0x9F or c in BIDI or 0xD800 <= c <= 0xDFFF or c in (0x2028, 0x2029)


HOSTILE = [
    "\x1b[2J",
    "\x1b]0;pwned\x07",
    "\x1b]8;;https://evil\x1b\\x\x1b]8;;\x1b\\",
    "\x07",
    "a\bb",
    "a\rb",
    "\u202eevil",
    "\u2066x\u2069",
    "\x9b31m",
    "\x85",
    "\ud800",
    "\u2028",
    "\x00",
    "\x7f",
    "\t",
]
# Any code point at all (surrogates included), weighted towards the ones that matter.
anything = st.text(
    st.one_of(st.characters(codec=None, categories=None), st.sampled_from([chr(c) for c in sorted(BIDI | ZERO_WIDTH)]), st.characters(max_codepoint=0x9F))
)
# Text with nothing to clean: letters, marks, numbers, punctuation, symbols and spaces of any script (no controls, no format chars).
plain = st.text(st.characters(categories=["L", "M", "N", "P", "S", "Zs"]))


@settings(max_examples=500)
@given(anything, st.booleans())
def test_nothing_unsafe_survives(text: str, multiline: bool) -> None:
    out = clean(text, multiline=multiline)
    assert not any(unsafe(ch, multiline) for ch in out), ascii(out)
    out.encode("utf-8")  # a lone surrogate would fail here, as it would when written to a terminal


@settings(max_examples=500)
@given(anything, st.booleans())
def test_cleaning_twice_is_cleaning_once(text: str, multiline: bool) -> None:
    once = clean(text, multiline=multiline)
    assert clean(once, multiline=multiline) == once
    assert clean_name(clean_name(text)) == clean_name(text)


@settings(max_examples=300)
@given(plain)
def test_plain_text_passes_unchanged(text: str) -> None:
    assert clean(text) == text
    assert clean(text, multiline=True) == text
    assert clean_name(text) == text


@settings(max_examples=300)
@given(st.lists(plain, min_size=1, max_size=4))
def test_newlines_are_kept_only_where_the_field_is_multiline(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert clean(text, multiline=True) == text
    assert "\n" not in clean(text)


@given(anything)
def test_names_have_no_zero_width_characters(text: str) -> None:
    """None that draws nothing: a joiner stays only between two characters it shapes (see the test after this one)."""
    out = clean_name(text)
    for i, ch in enumerate(out):
        if ord(ch) in ZERO_WIDTH:
            assert ch in "\u200c\u200d" and 0 < i < len(out) - 1, repr(out)
            assert ord(out[i - 1]) not in ZERO_WIDTH and ord(out[i + 1]) not in ZERO_WIDTH and ord(out[i - 1]) >= 0x600 <= ord(out[i + 1])
    assert not any(unsafe(ch, False) for ch in out)


def test_a_joiner_that_spells_a_name_or_an_emoji_stays_and_one_that_only_hides_goes() -> None:
    """A Persian name lost its zero-width non-joiner (می‌خواهم became میخواهم) and the health-worker emoji its joiner."""
    persian, worker = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "Ward \U0001f469\U0001f3fd\u200d\u2695\ufe0f round"
    assert clean_name(persian) == persian and clean_name(worker) == worker
    assert clean_name("A\u200dna") == clean_name("A\u200cna") == "Ana"  # between Latin letters it draws nothing
    assert clean_name("\u200d\u0645") == "\u0645"  # at an edge it joins nothing


def test_each_hostile_sequence_shows_as_something_visible() -> None:
    for h in HOSTILE:
        out = clean(h)
        assert out and not any(unsafe(ch, False) for ch in out), ascii(h)
    assert clean("\x1b[2J") == "␛[2J"  # the sequence is defused, and the attempt stays visible
    assert clean("\x1b]0;pwned\x07") == "␛]0;pwned␇"
    assert clean("a\bb") == "a␈b" and clean("a\rb") == "a␍b" and clean("\x7f") == "␡"
    assert clean("x\u202ey") == "x\ufffdy" and clean("\x9b") == "\ufffd"
    assert clean("a\tb") == "a b"
    assert clean("one\r\ntwo\u2028three", multiline=True) == "one\ntwo\nthree"
    assert clean("one\ntwo") == "one␊two"


def test_ordinary_unicode_is_untouched() -> None:
    for s in ["Ana Tūhoe", "Zoë Ångström-Núñez", "李小龙", "محمد", "Dr. O'Neill", "🙂 🩺", "[bold]x[/]", "[@click=app.quit]x[/]"]:
        assert clean(s) == s and clean_name(s) == s
    assert unicodedata.normalize("NFD", "Tūhoe") == clean(unicodedata.normalize("NFD", "Tūhoe"))  # combining marks stay


def test_zero_width_characters_cannot_make_two_names_look_alike() -> None:
    assert clean_name("A\u200bna") == "Ana"
    assert clean_name("\ufeffBen\u2060") == "Ben"
    assert clean("A\u200bna") == "A\u200bna"  # in other text they stay (an emoji sequence needs the joiner)


def test_shorten_cuts_with_an_ellipsis() -> None:
    assert shorten("short", 10) == "short"
    assert shorten("x" * 10_000, 60) == "x" * 59 + ELLIPSIS
    assert len(shorten("word " * 100, 40)) <= 40
