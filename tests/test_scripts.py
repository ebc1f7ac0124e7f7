"""`make test` and `make demo` take Odoo from ODOO_SRC, or fetch it themselves, or say in one line how to
provide it (scripts/lib.sh ensure_odoo), with a stand-in for git so that no network is needed."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FAILING_GIT = """#!/bin/sh
echo "fatal: unable to access 'https://github.com/odoo/odoo/': Could not resolve host: github.com" >&2
exit 128
"""
CLONING_GIT = """#!/bin/sh
for last; do :; done
mkdir -p "$last/odoo" && echo "version_info = (18, 0, 0, 'final', 0, '')" > "$last/odoo/release.py"
touch "$last/odoo-bin"
echo "$@" > "$(dirname "$last")/git-args"
"""


def ensure_odoo(tmp_path, git_script, odoo_src):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    git = bin_dir / "git"
    git.write_text(git_script)
    git.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", ODOO_SRC=str(odoo_src),
               SETUP_LOG=str(tmp_path / "setup.log"))  # fmt: skip
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "lib.sh"), "ensure_odoo"], capture_output=True, text=True, env=env,
        stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip


def test_a_missing_odoo_is_fetched(tmp_path):
    src = tmp_path / "odoo18"
    done = ensure_odoo(tmp_path, CLONING_GIT, src)
    assert done.returncode == 0, done.stderr
    assert (src / "odoo-bin").exists()
    args = (tmp_path / "git-args").read_text()
    assert "clone --depth 1 --branch 18.0" in args and "https://github.com/odoo/odoo" in args


def test_a_closed_network_gives_one_clear_line(tmp_path):
    done = ensure_odoo(tmp_path, FAILING_GIT, tmp_path / "odoo18")
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if not line.startswith("==>")]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith("error: no Odoo 18.0 source at ODOO_SRC=")
    assert "git clone --depth 1 --branch 18.0 https://github.com/odoo/odoo" in errors[0]
    assert "Could not resolve host" in (tmp_path / "setup.log").read_text()  # the detail is in the log
    assert not (tmp_path / "odoo18").exists()


def test_a_folder_that_is_not_odoo_is_not_touched(tmp_path):
    src = tmp_path / "odoo18"
    src.mkdir()
    (src / "notes.txt").write_text("mine")
    done = ensure_odoo(tmp_path, CLONING_GIT, src)
    assert done.returncode == 2
    assert done.stderr.strip().startswith(f"error: ODOO_SRC={src} holds no Odoo 18.0 source")
    assert (src / "notes.txt").read_text() == "mine"
