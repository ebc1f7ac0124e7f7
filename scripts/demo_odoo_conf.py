"""Odoo's configuration file for the demo (``make demo`` and docker compose): the database manager off
(``list_db = False``) behind a generated master password.

    python scripts/demo_odoo_conf.py SECRETS_DIR CONF [key=value ...]

Makes ``SECRETS_DIR/master-password`` once (random; the database manager's master password, kept for a site
that turns the manager back on) and writes CONF: ``[options]`` with the given settings, ``admin_passwd`` (the
master password hashed as Odoo stores it) and ``list_db = False``; a ``section.key=value`` setting goes to
its own section (``queue_job.max_capacity=2``: ``[queue_job]``, ``max_capacity = 2``). Both files are mode
0600 from their creation on; run again, it keeps the password and writes CONF anew. Needs passlib (a
dependency of Odoo).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from passlib.hash import pbkdf2_sha512

#: Odoo 18's own work factor for the master password's hash (odoo.tools.config).
ROUNDS = 600_000


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable and writable by this user only (0600) from its creation on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through os.open
        out.write(text)


def write_conf(secrets_dir: Path, conf: Path, settings: dict[str, str]) -> str:
    """Write the master password (if there is none yet) and the configuration; returns the master password."""
    secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    master_file = secrets_dir / "master-password"
    master = master_file.read_text().strip() if master_file.exists() else ""
    if not master:
        master = secrets.token_urlsafe(24)
        write_secret(master_file, master + "\n")
    sections: dict[str, dict[str, str]] = {"options": {}}
    for key, value in settings.items():
        section, _dot, name = key.rpartition(".")
        sections.setdefault(section or "options", {})[name] = value
    sections["options"].update(admin_passwd=pbkdf2_sha512.using(rounds=ROUNDS).hash(master), list_db="False")
    text = "\n".join(
        f"[{section}]\n" + "".join(f"{key} = {value}\n" for key, value in options.items())
        for section, options in sections.items()
    )
    write_secret(conf, text)
    return master


def main(argv: list[str]) -> int:
    if len(argv) < 2 or any("=" not in arg for arg in argv[2:]):
        print("usage: " + __doc__.strip().splitlines()[3].strip(), file=sys.stderr)
        return 2
    write_conf(Path(argv[0]), Path(argv[1]), dict(arg.split("=", 1) for arg in argv[2:]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
