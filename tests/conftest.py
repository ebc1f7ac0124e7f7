"""Fixtures for cross-component tests: a real Odoo server on a copy of the test database."""

import os
import sys
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# Pure modules of the addons (no Odoo import), importable on their own.
for addon in sorted((HERE.parent / "addons").glob("*/__manifest__.py")):
    sys.path.insert(0, str(addon.parent))

import odoo_server  # noqa: E402

ADMIN = ("admin", "admin")


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    """A database with every addon and its demo data: `make test`'s, or one made here."""
    name = os.environ.get("MRO_TEMPLATE_DB")
    if name and odoo_server.db_exists(name):
        return name
    name = "mro_pytest_template"
    odoo_server.create_db(name, log=tmp_path_factory.mktemp("odoo") / "create.log")
    return name


@pytest.fixture
def odoo(template_db, tmp_path):
    """A running Odoo server on a fresh copy of the template database."""
    db = f"mro_pytest_{uuid.uuid4().hex[:8]}"
    odoo_server.copy_db(template_db, db)
    server = odoo_server.OdooServer(db=db, log_path=tmp_path / "odoo.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        odoo_server.drop_db(db)
