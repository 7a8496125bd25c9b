"""HTML that prints well on A4: Jinja2 with autoescape on, inline SVG charts, no scripts and no external assets.

Member text is only ever a template variable, so Jinja2 escapes it; the only
markup not from the template is the charts, built by :mod:`circle.export.svg`,
which escapes every label itself. A Content-Security-Policy meta forbids
scripts, objects, forms and every external fetch, in case a browser is asked
to open something a future bug let through.
"""

from __future__ import annotations

import functools
import io

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from circle.export import svg
from circle.export.summary import ROLE_NAMES, Summary
from circle.models.credits import amount


@functools.cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("circle.export", "templates"), autoescape=True, undefined=StrictUndefined, trim_blocks=False, keep_trailing_newline=True
    )
    env.globals["hours"] = hours
    env.globals["amount"] = amount
    env.globals["role_names"] = ROLE_NAMES
    return env


def hours(minutes: int) -> str:
    h, m = divmod(minutes, 60)
    return f"{h} h {m:02d} min"


def charts(s: Summary) -> dict[str, Markup]:
    """The inline SVG charts of a summary (markup built by :mod:`circle.export.svg`, every label escaped there)."""
    points = [(m.at[:10], len(m.present), len(m.present) + len(m.absent) + len(m.unmarked)) for m in s.held]
    rows = [(a.name, a.present, a.held) for a in s.attendance]
    return {
        "over_time": Markup(svg.attendance_over_time(points)),  # noqa: S704 - built from escaped parts
        "per_member": Markup(svg.horizontal_bars(rows)),  # noqa: S704
    }


def encoded(s: Summary) -> bytes:
    """The export as one self-contained HTML page, in UTF-8, encoded as the template writes it: never the whole page as one string too."""
    out = io.BytesIO()
    for part in _env().get_template("summary.html.j2").generate(s=s, charts=charts(s)):
        out.write(part.encode())
    return out.getvalue()
