"""Member text with HTML, Markdown, CSV formulas and control characters comes out inert in every format.

A member with an altered client can write anything a schema allows into a
name, a title, a note or an action; the program lead opens the export in a
browser, a Markdown viewer or a spreadsheet. Each format is checked with a
reader of that format: markdown-it-py (CommonMark, tables, strikethrough)
for Markdown, the standard library's HTML parser, the csv module, json, and
pdftotext plus a look at the PDF's objects.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from circle.demo import DEMO_PASSPHRASE
from circle.export import csv_format
from circle.export.markdown import inline, paragraph
from circle.models.agreements import CHARTER
from circle.store.session import Home
from circle.sync.drop import ReplicaDrop
from tests.export.conftest import all_formats, frozen, need, open_as, readable
from tests.security.laptops import copy_db

HTML = '<script>alert("x")</script><img src=x onerror=alert(1)><a href="https://evil.example">link</a>'
MARKDOWN = "[click me](https://evil.example) ![pic](https://evil.example/p.png) <https://evil.example> **bold** `code` | pipe | ~~gone~~"
BLOCKS = "# Heading\n> quote\n- list\n1. numbered\n    indented code\n---\n=== \n```\nfence"
FORMULAS = ['=HYPERLINK("https://evil.example","x")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tTAB=1", "\r=CR"]
CONTROL = "ring\x07 clear\x1b[2J title\x1b]0;pwned\x07 back\x08\x08 rtl\u202eevil"
NAME = '<b>Kwame</b> =cmd|"/C calc"!A0'
# A mentor's credit rule and a member's conflict-of-interest declaration are member text too.
RULE_NAME = '=HYPERLINK("https://evil.example","r") <i>x</i> [r](https://evil.example)'
RULE_BODY = '<script>alert("rule")</script> **Body** | x'
COI = "@SUM(A1) <img src=x onerror=alert(2)> [coi](https://evil.example) `c` ~~x~~\n# not a heading\x1b[2J"
# A shared goal's title, measure and a check-in's evidence are member text too (written as an altered client would).
GOAL_TITLE = '=HYPERLINK("https://evil.example","g") <script>alert("goal")</script> [g](https://evil.example) **b**'
GOAL_MEASURE = "-1 | <iframe src=x> ![m](https://evil.example/m.png)"
EVIDENCE = "+2 <img src=x onerror=alert(3)> [e](https://evil.example) `e` ~~y~~\n> not a quote\x1b]0;t\x07"


@pytest.fixture(scope="module")
def hostile(export_demo, tmp_path_factory):
    import shutil

    home = tmp_path_factory.mktemp("injection") / "home"
    shutil.copytree(export_demo, home, symlinks=True)
    session, svc = open_as(home, "Kwame Mensah")
    with svc.store.lock:
        held = [m for m in svc.view.meetings() if m.held][-1]
    svc.store.record("member.updated", {"member": svc.me, "name": NAME})  # a member may rename themself
    item = svc.add_item(svc.next_meeting().id, "item " + MARKDOWN)
    svc.store.record("agenda.added", {"item": "hostile-item", "meeting": held.id, "title": HTML, "owner": svc.me, "minutes": 5})
    svc.add_note(held.id, BLOCKS, item_id="hostile-item")
    svc.add_note(held.id, CONTROL, decision=True)
    svc.add_note(held.id, HTML + "\n" + MARKDOWN)
    for f in FORMULAS:
        svc.store.record("action.added", {"action": f"hostile-{len(f)}-{ord(f[0])}", "meeting": held.id, "title": f, "owner": svc.me, "due": ""})
    goal = {"goal": "hostile-goal", "owner": svc.me}
    svc.store.record("goal.set", {**goal, "title": GOAL_TITLE, "domain": "skill", "measure": GOAL_MEASURE, "target": "2025-12-31"})
    svc.store.record("goal.checked_in", {**goal, "progress": 40, "note": "n", "evidence": EVIDENCE})
    svc.store.entry.replica = {"url": str(home / "replica")}  # the copy's own replica, not the template's
    svc.store.add_anonymous(held.id, FORMULAS[0], ReplicaDrop(session, svc.store))  # an altered client: a held meeting's round
    with svc.store.lock:
        v = svc.view.charter_agreement().current
    svc.store.record("agreement.signed", {"agreement": CHARTER, "version": v.number, "digest": v.digest, "coi": COI})  # signs again: the latest counts
    # Helen (the mentor) sets a rule with a hostile name, body and unit; her journal reaches Kwame's device as sync would carry it.
    helen = Home(home).unlock(DEMO_PASSPHRASE, "Helen Okafor", clock=frozen)
    hs = helen.cohort(helen.cohort_ids()[0]).store
    rule = {"id": "hostile", "name": RULE_NAME, "body": RULE_BODY, "unit": "<u>pts</u>", "hours_per_unit": "1", "credits_per_unit": "1", "cap": "0"}
    hs.record("credit.rule_set", {**rule, "cycle_years": 3, "activities": ["meeting"], "roles": ["mentor", "peer"]})
    hs.flush()
    copy_db(hs.journal.path, svc.store.peer_dir() / f"{hs.entry.journal}.db")
    svc.store.ingest()
    helen.close()
    with svc.store.lock:
        assert svc.view.credits().in_force.name == RULE_NAME
        assert [s.coi for s in svc.view.charter_agreement().current.signatures if s.member == svc.me] == [COI]
        assert svc.view.shared_goals().goals[(svc.me, "hostile-goal")].check_ins[0].evidence == EVIDENCE
    assert item
    return all_formats(svc, tmp_path_factory.mktemp("injection-out"), anonymous=True)


def test_no_control_character_reaches_any_format(hostile):
    need("pdftotext")
    for fmt, path in hostile.items():
        text = readable(fmt, path)
        for ch in ("\x07", "\x1b", "\x08", "\u202e"):
            assert ch not in text, f"{ch!r} in {fmt}"
    assert "␛\\[2J" in hostile["md"].read_text()  # made visible (and escaped), not dropped


def md_tokens(text: str):
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    for tok in md.parse(text):
        yield tok
        yield from tok.children or ()


def test_markdown_gets_no_links_images_html_or_structure_from_member_text(hostile):
    text = hostile["md"].read_text()
    kinds = {t.type for t in md_tokens(text)}
    assert not kinds & {"link_open", "image", "html_inline", "html_block", "code_inline", "code_block", "fence", "s_open", "blockquote_open", "hr"}, kinds
    headings = [t for t in MarkdownIt("commonmark").parse(text) if t.type == "heading_open"]
    assert len(headings) == 1 + 10 + 10  # the title, ten sections, ten meetings: none from member text
    assert "evil.example" in text and "<script>" not in text
    rendered = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)
    assert "<a " not in rendered and "<img" not in rendered and "<script" not in rendered and "<del>" not in rendered
    shown = Tags()
    shown.feed(rendered)
    words = " ".join("".join(shown.data).split())
    assert RULE_NAME in words and RULE_BODY in words and "<u>pts</u>" in words  # the rule reads as written, beside the figures
    assert " ".join(COI.replace("\x1b", "␛").split()) in words  # the declaration reads as written (its line break a space)
    assert GOAL_TITLE in words and GOAL_MEASURE in words and " ".join(shown_evidence().split()) in words  # the goal reads as written


@pytest.mark.parametrize("value", [HTML, MARKDOWN, BLOCKS, *FORMULAS, "1. x", "+ y", "- z", "www.evil.example", "a\\"])
def test_markdown_escaping_renders_back_to_the_same_text(value):
    """Escaped text renders as exactly the text (line breaks aside): inert, and nothing lost."""
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    out = md.render(f"- {paragraph(value, '  ')}\n")
    assert "<a " not in out and "<img" not in out and "<h1" not in out and "<blockquote" not in out and "<code" not in out and "<del" not in out
    plain = "".join(t.content for t in md_tokens(f"- {paragraph(value, '  ')}\n") if t.type == "text")
    assert plain == "".join(ln.lstrip() for ln in value.replace("\r", "\n").split("\n") if ln.strip())
    assert "\n" not in inline(value)


def _inline_every_step(text: str) -> str:
    """markdown.inline without its quick looks: every step, always."""
    text = re.sub(r"([\\`*_\[\]{}|~#!])", r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"(?i)(://|\bwww\.)", lambda m: ":\\/\\/" if m.group(1) == "://" else m.group(1)[:3] + "\\.", text)
    text = re.sub(
        r"^(\s*)([-+=>]|\d{1,9}[.)])",
        lambda m: "\\" + m.group(2) if not m.group(2)[0].isdigit() else m.group(2)[:-1] + "\\" + m.group(2)[-1],
        text.lstrip(),
    )
    return text.replace("\n", " ")


@settings(max_examples=600, deadline=None)
@given(
    st.lists(
        st.sampled_from(["www.", "WWW.", "wWw.", "aww.", "://", "http://x", "1.", "12)", "-", "+", "=", ">", "&", "<", "#", "!", "\\", "`", "*"]), max_size=8
    )
    .flatmap(lambda parts: st.permutations(parts + [" ", "\n", "\u00a0", "a", "W", ".", ":", "/"]))
    .map("".join)
    | st.text(alphabet=st.sampled_from(list(" \t\n\u00a0aZ09.:/-+=>)*_[]{}|~#!&<>`\\wW")), max_size=24)
    | st.text(max_size=24)
)
def test_markdown_inline_quick_looks_change_nothing(text):
    """A step runs only where a quick look finds something for it (a whole-history export escapes 200k texts)."""
    assert inline(text) == _inline_every_step(text)


def shown_evidence() -> str:
    """The hostile evidence as cleaned: control characters made visible."""
    return EVIDENCE.replace("\x1b", "␛").replace("\x07", "␇")


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.data: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.data.append(data)


def test_html_has_only_the_templates_tags_and_a_policy_that_forbids_scripts(hostile):
    html = hostile["html"].read_text()
    p = Tags()
    p.feed(html)
    names = {t for t, _ in p.tags}
    assert not names & {"script", "img", "a", "iframe", "object", "embed", "form", "link", "b", "base"}, names
    assert all(not k.startswith("on") and "javascript:" not in (v or "") for _, attrs in p.tags for k, v in attrs)
    assert "https://evil.example" not in "".join(v or "" for _, attrs in p.tags for _, v in attrs)
    csp = next(dict(a)["content"] for t, a in p.tags if t == "meta" and dict(a).get("http-equiv") == "Content-Security-Policy")
    assert "script-src 'none'" in csp and "default-src 'none'" in csp
    text = "".join(p.data)
    assert '<script>alert("x")</script>' in text and NAME in text  # shown as text, exactly
    assert RULE_NAME in text and RULE_BODY in text and "<u>pts</u>" in text  # the rule, beside the figures, as text
    assert COI.replace("\x1b", "␛") in text  # the declaration as cleaned, as text
    assert GOAL_TITLE in text and GOAL_MEASURE in text and shown_evidence() in text  # the goal, as text


def test_csv_cells_never_start_a_formula(hostile):
    with zipfile.ZipFile(hostile["csv"]) as z:
        cells = [c for n in z.namelist() for row in csv.reader(io.StringIO(z.read(n).decode("utf-8-sig"), newline="")) for c in row]
    assert cells
    for c in cells:
        assert not c.startswith(("=", "+", "-", "@", "\t", "\r")), repr(c)
    for f in FORMULAS[:4]:
        assert "'" + f in cells, f
    assert " TAB=1" in cells and "␍=CR" in cells  # a tab is cleaned to a space, a carriage return made visible: neither starts a formula
    assert NAME in cells  # starts with "<": nothing for a spreadsheet to run
    assert "'" + RULE_NAME in cells and "'" + COI.replace("\x1b", "␛") in cells  # the rule's name and the declaration, defused
    assert "'" + GOAL_TITLE in cells and "'" + GOAL_MEASURE in cells and "'" + shown_evidence() in cells  # the goal, defused


@pytest.mark.parametrize("value,expected", [("=1+1", "'=1+1"), (" =1", "' =1"), ("-", "'-"), ("a=b", "a=b"), (-3, -3), (True, "yes"), ("", "")])
def test_csv_cell_rule(value, expected):
    assert csv_format.cell(value) == expected


def test_json_keeps_the_text_exactly_as_cleaned(hostile):
    doc = json.loads(hostile["json"].read_text())
    texts = [n["text"] for m in doc["meetings"] for n in m["notes"]]
    assert HTML + "\n" + MARKDOWN in texts
    assert "ring␇ clear␛[2J title␛]0;pwned␇ back␈␈ rtl\ufffdevil" in texts
    assert any(a["name"] == NAME for a in doc["attendance"])
    assert doc["credits"]["rule_in_force"]["name"] == RULE_NAME and doc["credits"]["rule_in_force"]["body"] == RULE_BODY
    assert all(m["rule"]["name"] == RULE_NAME for m in doc["credits"]["members"])
    assert COI.replace("\x1b", "␛") in [x["coi"] for x in doc["agreement"]["signatures"]]
    goal = next(g for g in doc["goals"]["goals"] if g["id"] == "hostile-goal")
    assert goal["title"] == GOAL_TITLE and goal["measure"] == GOAL_MEASURE and goal["evidence"][0]["evidence"] == shown_evidence()


def test_pdf_prints_the_text_and_has_no_actions_or_links(hostile):
    need("pdftotext")
    data = hostile["pdf"].read_bytes()
    for marker in (b"/JavaScript", b"/JS", b"/URI", b"/Launch", b"/AA", b"/EmbeddedFile", b"/Annots"):
        assert marker not in data, marker
    import re

    assert re.findall(rb"/OpenAction\s*(\S)", data) in ([], [b"["]), "an open action other than a page destination"
    text = readable("pdf", hostile["pdf"])
    assert "<script>alert" in text and "HYPERLINK" in text and "Kwame</b>" in text
    flat = " ".join(text.split())
    assert 'alert("rule")' in flat and "onerror=alert(2)" in flat and "<u>pts</u>" in flat  # the rule and the declaration print as written
    assert 'alert("goal")' in flat and "onerror=alert(3)" in flat and "<iframe src=x>" in flat  # the goal prints as written
