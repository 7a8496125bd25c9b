"""Print what the hostile-member tests tried and what got through, at the end of a run."""

from __future__ import annotations

from tests.security.laptops import TALLY


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    if not TALLY:
        return
    terminalreporter.section("hostile members: cases tried / accepted (accepted must be 0)")
    for attack, counts in sorted(TALLY.items()):
        terminalreporter.write_line(f"{attack:<40} {counts['tried']:>6} tried  {counts['accepted']:>3} accepted")
