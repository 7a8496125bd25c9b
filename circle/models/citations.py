"""What each journal's events claim to have seen of the others: the citations the fold checks and the cuts read.

A journal's citations only ever grow; an event that cites less, or cites its
own journal, is refused (:class:`Citations`). Where each citation grew is
what a removal's cut reads (:meth:`circle.models.view.View._cut_for`).
"""

from __future__ import annotations

from bisect import bisect_right

from circle.models.events import Event


class Citations:
    """What each journal's events have claimed to have seen of the others (cumulative, as the fold meets them in journal order).

    A journal's citations only ever grow (an event that cites less is
    refused), so the running maximum per cited journal is what its author
    had seen at its newest event. Snapshots are kept at governance events,
    which are judged there. Where each citation grew is kept as it is met
    (what a removal's cut reads, see :meth:`View._cut_for`), for journals
    whose every event with citations was accepted; for the others it is read
    back from the events themselves.
    """

    def __init__(self) -> None:
        self.running: dict[str, dict[str, int]] = {}  # journal -> cited journal -> newest seq cited so far
        self.at: dict[str, tuple[str, int]] = {}  # governance event id -> its journal and the tick it was kept at (see seen)
        self.grew: dict[str, dict[str, tuple[list[int], list[int]]]] = {}  # journal -> cited journal -> (seqs where it grew, seq cited there)
        self.untracked: set[str] = set()  # journals with a refused event that cites: ``grew`` leaves it out, read them back
        # Every change of ``running``, so that what a journal had cited at any kept event can be read back without a copy:
        # journal -> cited journal -> (ticks, values then; None where the entry went). A journal's tick counts its events
        # with citations. A copy of ``running`` per governance event cost an altered client's fake citations times its
        # governance events (10k made-up journals and 1,000 tiny events held 216 MB).
        self._log: dict[str, dict[str, tuple[list[int], list[int | None]]]] = {}
        self._tick: dict[str, int] = {}

    def _set(self, journal: str, mine: dict[str, int], j: str, value: int | None) -> None:
        """``mine`` (``running[journal]``) now says ``value`` of ``j`` (None: nothing), logged at the journal's tick."""
        if value is None:
            mine.pop(j, None)
        else:
            mine[j] = value
        line = self._log.setdefault(journal, {}).get(j)
        if line is None:
            line = self._log[journal][j] = ([], [])
        line[0].append(self._tick[journal])
        line[1].append(value)

    def take(self, e: Event) -> str | None:
        """Add ``e``'s citations (``e`` follows the journal's events checked so far); a reason if they are malformed.

        Every citation is checked and recorded in one pass over them, with what
        each one it changed was before kept aside: almost every event's
        citations are fine. Anything wrong puts that back and takes the event
        again one citation at a time (:meth:`_take_refused`), which says why.
        (A copy of everything the journal had cited, per event, cost an altered
        client's made-up citations times its events.)
        """
        deps = e.deps
        if not deps:
            return None
        journal, seq = e.journal, e.seq
        mine = self.running.get(journal)
        if mine is None:
            mine = self.running[journal] = {}
        grew = self.grew.get(journal)
        if grew is None:
            grew = self.grew[journal] = {}
        tick = self._tick[journal] = self._tick.get(journal, 0) + 1
        log = self._log.get(journal)
        if log is None:
            log = self._log[journal] = {}
        changed: list[tuple[str, int | None]] = []  # what this event changed, and what it was (not a copy of every citation)
        get = mine.get
        for j, s, _h in deps:
            was = get(j)
            if was is None or s > was:
                changed.append((j, was))
                mine[j] = s
                change = log.get(j)  # as _set logs it, without its call: this is the fold's path for every event that cites
                if change is None:
                    log[j] = ([tick], [s])
                else:
                    change[0].append(tick)
                    change[1].append(s)
                line = grew.get(j)
                if line is None:
                    grew[j] = ([seq], [s])
                else:
                    line[0].append(seq)
                    line[1].append(s)
            elif s < was:
                break
        else:
            if journal not in mine:  # a journal never cites itself, so it is in ``mine`` only if ``e`` cites it
                return None
        for j, was in reversed(changed):  # something is wrong: put back what the journal had cited, and find out what
            self._set(journal, mine, j, was)
        return self._take_refused(e, mine)

    def _take_refused(self, e: Event, mine: dict[str, int]) -> str | None:
        """``e``'s citations one at a time, as :meth:`take` did before it had a fast pass: for an event whose citations are wrong, why.

        What it changed before the citation that is wrong is put back, a
        journal it newly cited coming back as cited at 0 (it counts as cited
        for :meth:`View._cut_for`, which reads an untracked journal back).
        ``grew`` may keep what the fast pass added: it is never read for an
        untracked journal.
        """
        journal = e.journal
        old: list[tuple[str, int]] = []
        for j, s, _h in e.deps:
            was = mine.get(j)
            if j == journal or s < (was or 0):
                for k, v in old:  # put back what this refused event changed
                    self._set(journal, mine, k, v)
                self.untracked.add(journal)
                return "cites its own journal" if j == journal else "cites less of a journal than its author had cited before"
            old.append((j, was or 0))
            self._set(journal, mine, j, s)
        return None  # not reached: take's pass found something wrong, and this pass meets the same values

    def keep(self, e: Event) -> None:
        """Remember where ``e`` (a governance event, its citations just taken) is in its journal's citations."""
        self.at[e.id] = (e.journal, self._tick.get(e.journal, 0))

    def seen(self, e: Event) -> Seen:
        """What ``e``'s journal had cited up to ``e`` (``e`` a governance event kept here; else nothing)."""
        journal, tick = self.at.get(e.id, ("", 0))
        return Seen(self._log.get(journal, {}), tick)


class Seen:
    """What a journal had cited at one of its events, read back from the log of its citations' changes: ``get`` as a dict's."""

    __slots__ = ("_log", "_tick")

    def __init__(self, log: dict[str, tuple[list[int], list[int | None]]], tick: int) -> None:
        self._log, self._tick = log, tick

    def get(self, journal: str, default: int | None = None) -> int | None:
        line = self._log.get(journal)
        if line is None:
            return default
        n = bisect_right(line[0], self._tick)
        value = line[1][n - 1] if n else None
        return default if value is None else value


def histories(events: list[Event]) -> dict[str, tuple[list[int], list[int]]]:
    """For one journal's events in seq order: per cited journal, the seqs where its citation grew and the seq cited there."""
    out: dict[str, tuple[list[int], list[int]]] = {}
    for e in events:
        for j, s, _h in e.deps:
            at, cited = out.setdefault(j, ([], []))
            if not cited or s > cited[-1]:
                at.append(e.seq)
                cited.append(s)
    return out
