"""Fixtures for cross-component tests: a real Odoo server on a copy of the test database."""

import os
import uuid

import odoo_server
import pytest
from odoo_server import private_broker


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
    """A running Odoo server on a fresh copy of the template database (named MRO_TEST_DB_PREFIX + a random suffix;
    dropped afterwards)."""
    db = f"{os.environ.get('MRO_TEST_DB_PREFIX', 'mro_pytest_')}{uuid.uuid4().hex[:8]}"
    odoo_server.copy_db(template_db, db)
    server = odoo_server.OdooServer(db=db, log_path=tmp_path / "odoo.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        odoo_server.drop_db(db)


@pytest.fixture
def broker(tmp_path):
    """A private Mosquitto for one test (see private_broker)."""
    with private_broker(tmp_path) as address:
        yield address
