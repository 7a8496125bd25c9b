"""JSON for other tools, in the shape docs/export.schema.json publishes (``circle-export/1``).

Ids are included (meetings, agenda items, actions, members) so a tool can
join tables; member text is cleaned of control characters and otherwise
exactly as written: JSON's own escaping makes it inert.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from circle.export.summary import SCHEMA_ID, Summary


def document(s: Summary) -> dict[str, Any]:
    """The export as a JSON-ready dict."""
    d = dataclasses.asdict(s)
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


def render(s: Summary) -> str:
    return json.dumps(document(s), ensure_ascii=False, indent=2, sort_keys=False) + "\n"
