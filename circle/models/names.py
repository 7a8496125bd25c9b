"""Finding one thing by what a person types: one rule for identities, cohorts and members.

People type names the way they say them: the whole name in any case, the
start of it ("kwa"), or the start of any of its words ("mensah"). An id prefix
of at least four characters also works, for scripts. The first rule that
picks exactly one thing wins; a rule that picks several is ambiguous and
says which.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from circle.errors import Ambiguous, NotFound

T = TypeVar("T")
MIN_ID_PREFIX = 4


def _words(name: str) -> list[str]:
    return name.casefold().replace("-", " ").split()


def _plural(what: str) -> str:
    return what[:-1] + "ies" if what.endswith("y") else what + "s"


def match_one(items: Sequence[T], ref: str, *, name: Callable[[T], str], ident: Callable[[T], str] = lambda _: "", what: str = "item") -> T:
    """The one item ``ref`` names.

    Args:
        items: what to choose from.
        ref: what the person typed.
        name: an item's name.
        ident: an item's id (hex), matched by prefix.
        what: what the items are, for the error ("member", "cohort").

    Raises:
        NotFound: nothing matches, or several do (the hint lists the names).
    """
    want = " ".join(ref.split()).casefold()
    if not want:
        raise NotFound(f"no {what} named", f"type a {what}'s name")
    rules: list[Callable[[T], bool]] = [
        lambda i: name(i).casefold() == want,
        lambda i: name(i).casefold().startswith(want),
        lambda i: any(w.startswith(want) for w in _words(name(i))) or (" " in want and want in name(i).casefold()),
        lambda i: len(want) >= MIN_ID_PREFIX and ident(i).startswith(want),
    ]
    for rule in rules:
        hits = [i for i in items if rule(i)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            names = sorted(name(i) for i in hits)
            if len({n.casefold() for n in names}) < len(names) and all(ident(i) for i in hits):  # the same name twice: only an id tells them apart
                raise Ambiguous(
                    f"several {_plural(what)} match {ref!r}", "give the start of one's id: " + ", ".join(sorted(f"{name(i)} ({ident(i)[:8]})" for i in hits))
                )
            raise Ambiguous(f"several {_plural(what)} match {ref!r}", "type more of the name: " + ", ".join(names))
    known = ", ".join(sorted(name(i) for i in items)) or "none yet"
    raise NotFound(f"no {what} matches {ref!r}", f"{_plural(what)} here: {known}")
