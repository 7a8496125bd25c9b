"""Coverage-guided fuzzing with atheris (libFuzzer), where atheris is installed.

atheris is not part of the test extras (it has wheels for few platforms); on
a machine without it this module is skipped and the figures say so, and the
hypothesis fuzzing in test_parser_fuzz.py still runs. Each parser runs in its
own process (libFuzzer owns the process and exits at the end) with circle's
modules instrumented, for a fixed number of inputs; an input that raises
anything but circle's own error is a crash, libFuzzer stops, and the test fails.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.figures import note, record, scale

HARNESS = textwrap.dedent(
    """
    import sys
    import atheris

    with atheris.instrument_imports(include=["circle"]):
        from circle.crypto import envelope
        from circle.errors import CircleError
        from circle.models.events import decode_payload
        from circle.store import joining

    KEY = bytes(range(32))

    def read_envelope(data):
        h = envelope.parse(data)
        envelope.open_envelope(data, h, KEY)

    TARGETS = {
        "invite codes": lambda data: joining.Invite.parse(joining.INVITE_PREFIX + data.decode("utf-8", "replace")),
        "short invite codes": lambda data: joining.ShortCode.parse(data.decode("utf-8", "replace")),
        "invite cards": lambda data: joining.read_card(joining.CARD_HEADER + "\\n" + data.decode("utf-8", "replace")),
        "envelopes": read_envelope,
        "event payloads": lambda data: decode_payload(data, id="e" * 64, journal="j" * 32, seq=1),
    }
    target = TARGETS[sys.argv[1]]

    def one(data):
        try:
            target(data)
        except CircleError:
            pass

    atheris.Setup([sys.argv[0], *sys.argv[2:]], one)
    atheris.Fuzz()
    """
)
TARGETS = ["invite codes", "short invite codes", "invite cards", "envelopes", "event payloads"]
HAVE_ATHERIS = importlib.util.find_spec("atheris") is not None


@pytest.mark.skipif(not HAVE_ATHERIS, reason="atheris is not installed (pip install atheris; wheels exist for Linux x86-64)")
@pytest.mark.parametrize("target", TARGETS)
def test_atheris(target: str, tmp_path: Path) -> None:
    runs = scale(20_000, 500_000)
    script = tmp_path / "harness.py"
    script.write_text(HARNESS)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, str(script), target, f"-runs={runs}", "-seed=16", "-max_len=4096", "-rss_limit_mb=1024"],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=tmp_path,
    )
    ran = re.search(r"Done (\d+) runs", done.stderr)
    crashed = int(done.returncode != 0)
    record("fuzz", f"atheris, coverage-guided: {target}", inputs_run=int(ran.group(1)) if ran else 0, unexpected_exceptions=crashed)
    assert done.returncode == 0, done.stderr[-3000:]
    assert ran and int(ran.group(1)) >= runs


def test_atheris_or_the_reason_it_did_not_run() -> None:
    if not HAVE_ATHERIS:
        note("fuzz", "atheris is not installed here: the coverage-guided runs were skipped; hypothesis covers every parser above.")
