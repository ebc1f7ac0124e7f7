"""Merge the Odoo test report and pytest's JUnit XML into one closing line.

Prints the failing items, then ``N passed, N failed`` (the last line), and exits 1 when
anything failed. An Odoo run that logged errors outside a test, or that exited non-zero,
counts as one more failure, so an install error can never pass unnoticed.
"""

import argparse
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPORT = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
LOG_LINE = re.compile(r"^\S+ \S+ \d+ (ERROR|CRITICAL) (\S+) (\S+): (.*)$")


def odoo_counts(log_path: Path, rc: int) -> tuple[int, int, list[str]]:
    """Return (passed, failed, messages) from an Odoo ``--test-tags`` log."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    found = REPORT.findall(text)
    messages = []
    if not found:
        return 0, 1, [f"Odoo: no test report in {log_path} (exit code {rc})"]
    failures, errors, run = map(int, found[-1])
    failed = failures + errors
    skipped = sum(1 for line in text.splitlines() if " odoo.tests.result: skipped " in line)
    passed = run - failed - skipped
    for line in text.splitlines():
        m = LOG_LINE.match(line)
        if m and m.group(4).startswith(("FAIL:", "ERROR:")):
            messages.append(f"Odoo: {m.group(4)}")
    stray = [line for line in text.splitlines() if (m := LOG_LINE.match(line)) and ".tests" not in m.group(3)]
    if not failed and (stray or rc != 0):
        failed += 1
        messages.append(f"Odoo: exit code {rc}; errors logged outside tests: {stray[:3]}")
    return passed, failed, messages


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
    messages = o_msg + p_msg + (["ruff: lint or format check failed"] if lint_fail else [])
    for message in messages:
        print(f"  failed: {message}")
    print(f"Odoo tests: {o_pass} passed, {o_fail} failed; pytest: {p_pass} passed, {p_fail} failed")
    passed, failed = o_pass + p_pass, o_fail + p_fail + lint_fail
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
