"""Merge the install of the addons and pytest's JUnit XML (every layer's tests) into one closing line.

Prints the failing items, then ``N passed, N failed`` (the last line), and exits 1 when anything failed. An
install that logged errors, or that exited non-zero, counts as one more failure, so an install error can never
pass unnoticed.
"""

import argparse
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

LOG_LINE = re.compile(r"^\S+ \S+ \d+ (ERROR|CRITICAL) (\S+) (\S+): (.*)$")


def odoo_counts(log_path: Path, rc: int) -> tuple[int, int, list[str]]:
    """Return (passed, failed, messages) of the install of the addons (``odoo-bin -i``): one failure when it
    exited non-zero or logged an error (an install error can never pass unnoticed), else nothing."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    stray = [line for line in text.splitlines() if LOG_LINE.match(line)]
    if rc != 0 or stray or not text:
        return 0, 1, [f"Odoo install: exit code {rc}; errors logged: {stray[:3]}"]
    return 0, 0, []


def pytest_counts(junit: Path, rc: int) -> tuple[int, int, list[str]]:
    """Return (passed, failed, messages) from pytest's JUnit XML."""
    if not junit.exists():
        return 0, 1, [f"pytest: no report (exit code {rc})"]
    root = ET.parse(junit).getroot()
    passed = failed = 0
    messages = []
    for case in root.iter("testcase"):
        outcome = {child.tag for child in case}
        if outcome & {"failure", "error"}:
            failed += 1
            messages.append(f"pytest: {case.get('classname')}::{case.get('name')}")
        elif "skipped" not in outcome:
            passed += 1
    if rc not in (0, 5) and not failed:
        failed += 1
        messages.append(f"pytest: exit code {rc}")
    return passed, failed, messages


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--odoo-log", type=Path, required=True)
    parser.add_argument("--odoo-rc", type=int, required=True)
    parser.add_argument("--junit", type=Path, required=True)
    parser.add_argument("--pytest-rc", type=int, required=True)
    parser.add_argument("--lint-failed", type=int, default=0)
    args = parser.parse_args()

    o_pass, o_fail, o_msg = odoo_counts(args.odoo_log, args.odoo_rc)
    p_pass, p_fail, p_msg = pytest_counts(args.junit, args.pytest_rc)
    lint_fail = 1 if args.lint_failed else 0
    messages = o_msg + p_msg + (["lint: ruff, README.rst or pylint-odoo failed"] if lint_fail else [])
    for message in messages:
        print(f"  failed: {message}")
    print(
        f"install: {'failed' if o_fail else 'ok'}; pytest (Odoo, bridge, cross-component): {p_pass} passed, "
        f"{p_fail} failed"
    )
    passed, failed = o_pass + p_pass, o_fail + p_fail + lint_fail
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
