"""The 18.0.1.1.0 migration: a database of the previous release, with readings in several months, updated to the
partitioned readings table keeps every row and id, and ingest goes on."""

import os
import subprocess
import sys
import tarfile
import uuid

import odoo_server
import pytest

#: The last commit of the suite whose readings table is an ordinary one (mro_sensor_bridge 18.0.1.0.0).
PREVIOUS = os.environ.get("MRO_PREVIOUS_COMMIT", "8b7b62305c6a46ee1ca7a9b7ec415a94c4e88d5a")

FILL = """
import time
env = env(context=dict(env.context, tracking_disable=True))
equipment = env["maintenance.equipment"].create({"name": "Migrated pump"})
sensor = env["mro.sensor"].create({"code": "MIG-1", "name": "Vibration", "equipment_id": equipment.id})
now = int(time.time())
# Three months back, two weeks ago and now: rows in at least three months.
stamps = [(now - days * 86400) * 1_000_000 for days in (70, 69, 40, 14, 0)]
env["ir.config_parameter"].set_param("mro_sensor_bridge.retention_days", "0")
env["mro.sensor.reading"]._insert_readings([sensor.id] * len(stamps), stamps, [1.0, 2.0, 3.0, 4.0, 5.0])
env.cr.commit()
"""

INGEST = """
import time
result = env["mro.sensor.reading"].ingest([["MIG-1", time.time() + 1, 6.0]])
assert result["accepted"] == 1, result
env.cr.commit()
print("INGESTED", result["accepted"])
"""


def _previous_addons(tmp_path):
    archive = tmp_path / "previous.tar"
    try:
        subprocess.run(
            ["git", "-C", str(odoo_server.ROOT), "archive", "-o", str(archive), PREVIOUS, "addons"],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"the previous release {PREVIOUS[:10]} is not in this checkout: {exc}")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "previous", filter="data")
    return tmp_path / "previous" / "addons"


def _odoo(addons, *args, stdin=None, log=None):
    paths = odoo_server.addons_path().split(",")
    paths[-1] = str(addons)  # the suite's addons are last
    cmd = [sys.executable, str(odoo_server.ODOO_SRC / "odoo-bin"), *args, f"--addons-path={','.join(paths)}"]
    with open(log, "ab") as out:
        return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=out, check=True, text=True).stdout


def test_update_partitions_an_existing_readings_table(tmp_path):
    previous = _previous_addons(tmp_path)
    current = odoo_server.ROOT / "addons"
    db = f"{os.environ.get('MRO_TEST_DB_PREFIX', 'mro_pytest_')}mig_{uuid.uuid4().hex[:8]}"
    log = tmp_path / "odoo.log"
    common = ["--log-level=warn", "--http-port", str(odoo_server.free_port())]
    try:
        _odoo(
            previous, "-d", db, "-i", "mro_sensor_bridge", "--without-demo=all", "--stop-after-init", *common, log=log
        )
        _odoo(previous, "shell", "-d", db, "--no-http", "--log-level=warn", stdin=FILL, log=log)
        assert odoo_server.psql("SELECT relkind FROM pg_class WHERE relname = 'mro_sensor_reading'", db) == "r"
        before = odoo_server.psql("SELECT id, sensor_id, ts, value FROM mro_sensor_reading ORDER BY id", db)
        assert len(before.splitlines()) == 5

        _odoo(current, "-d", db, "-u", "mro_sensor_bridge", "--stop-after-init", *common, log=log)

        assert odoo_server.psql("SELECT relkind FROM pg_class WHERE relname = 'mro_sensor_reading'", db) == "p"
        assert odoo_server.psql("SELECT id, sensor_id, ts, value FROM mro_sensor_reading ORDER BY id", db) == before
        partitions = odoo_server.psql(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'mro_sensor_reading'::regclass ORDER BY 1",
            db,
        ).splitlines()
        assert "mro_sensor_reading_default" in partitions
        assert len(partitions) >= 5  # the data's 3+ months and the 2 ahead, and the default
        assert odoo_server.psql("SELECT count(*) FROM mro_sensor_reading_default", db) == "0"
        assert (
            odoo_server.psql(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'mro_sensor_reading_pkey'", db
            )
            == "PRIMARY KEY (id, ts)"
        )
        assert odoo_server.psql("SELECT to_regclass('mro_sensor_reading_ts_brin') IS NOT NULL", db) == "t"
        version = odoo_server.psql("SELECT latest_version FROM ir_module_module WHERE name = 'mro_sensor_bridge'", db)
        assert version == "18.0.1.1.0"

        out = _odoo(current, "shell", "-d", db, "--no-http", "--log-level=warn", stdin=INGEST, log=log)
        assert "INGESTED 1" in out
        ids = odoo_server.psql("SELECT id FROM mro_sensor_reading ORDER BY id", db).splitlines()
        assert len(ids) == 6 and int(ids[-1]) > max(int(line.split("|")[0]) for line in before.splitlines())
        errors = [line for line in log.read_text().splitlines() if " ERROR " in line or " CRITICAL " in line]
        assert not errors, errors
    finally:
        odoo_server.drop_db(db)
