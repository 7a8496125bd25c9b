"""JSON for other tools, in the shape docs/export.schema.json publishes (``circle-export/1``).

Ids are included (meetings, agenda items, actions, members) so a tool can
join tables; member text is cleaned of control characters and otherwise
exactly as written: JSON's own escaping makes it inert.
"""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

from circle.export.summary import SCHEMA_ID, Summary, note_text


def document(s: Summary) -> dict[str, Any]:
    """The export as a JSON-ready dict."""
    d = dataclasses.asdict(s, dict_factory=_fields)
    return {
        "format": SCHEMA_ID,
        "kind": d["kind"],
        "cohort": {"id": s.cohort_id, **d["charter"]},
        "generated_at": d["generated_at"],
        "exporter": d["exporter"],
        "period": {"from": s.period_from or None, "to": s.period_to or None},
        "members": d["members"],
        "meetings": d["meetings"],
        "facilitation": d["rota"],
        "open_actions": d["open_actions"],
        "attendance": d["attendance"],
        "credits": d["credits"],
        "goals": d["goals"],
        "agreement": None if s.agreement is None else {**d["agreement"], "signed_by_all": s.agreement.signed_by_all, "refused_text": s.agreement.refused_text},
        "manifest": {"left_out": d["left_out"], "not_in_this_version": [{"key": o["key"], "text": o["text"]} for o in d["not_in_this_version"]]},
    }


def _fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A record as a dict; a note's text (:attr:`NoteRecord.text_held`) under the name ``text``, read back as it is written."""
    return dict(("text", _Said(v)) if k == "text_held" else (k, v) for k, v in pairs)


class _Said:
    """A note's text in the document: read back from where it is held when the encoder writes it, not before (see :func:`encoded`)."""

    __slots__ = ("held",)

    def __init__(self, held: Any) -> None:
        self.held = held


def _text(o: object) -> str:
    if isinstance(o, _Said):
        return note_text(o.held)
    raise TypeError(f"{type(o).__name__} is not JSON")


def encoded(s: Summary) -> bytes:
    """The export as JSON (UTF-8, two-space indents, a newline at the end), encoded as it is written.

    Neither every note's text nor the whole document is held as one string: a
    whole history of 100k events is about 180 MB of JSON.
    """
    out = io.BytesIO()
    parts: list[str] = []
    for part in json.JSONEncoder(ensure_ascii=False, indent=2, default=_text).iterencode(document(s)):
        parts.append(part)
        if len(parts) >= 8192:
            out.write("".join(parts).encode())
            parts.clear()
    parts.append("\n")
    out.write("".join(parts).encode())
    return out.getvalue()
