"""Retention against a concurrent writer, with real transactions: a reading written without its aggregate into
a month while the retention run that takes the month out is under way is not lost. (Inside one test transaction,
as the addon's tests run, the two cannot be told apart.)"""

import os
import subprocess
import uuid

import odoo_server

RACE = """
from datetime import datetime, time, timedelta

from odoo import SUPERUSER_ID, api, fields
from odoo.addons.mro_sensor_bridge.mro_ingestion.partitions import add_months, month_start, partition_name

registry = env.registry
Reading = env["mro.sensor.reading"]
equipment = env["maintenance.equipment"].create({"name": "Race pump"})
sensor = env["mro.sensor"].create({"code": "RACE-1", "name": "Vibration", "equipment_id": equipment.id})
expired = add_months(month_start(fields.Datetime.now()), -2)
name = partition_name("mro_sensor_reading", expired)
ingested = datetime.combine(expired + timedelta(days=2), time(8))
Reading._insert_readings([sensor.id], [round((ingested - datetime(1970, 1, 1)).total_seconds() * 1e6)], [1.0])
Reading._ensure_partitions()
env["ir.config_parameter"].set_param("mro_sensor_bridge.retention_days", "1")
cutoff = datetime.combine(add_months(expired, 1) + timedelta(days=14), time())
env.cr.commit()

stray = datetime.combine(expired + timedelta(days=9), time(3, 15))
with registry.cursor() as cron_cr:
    cron = api.Environment(cron_cr, SUPERUSER_ID, {})["mro.sensor.reading"]
    cron_cr.execute("SELECT 1")  # the run's snapshot: taken before the other writer commits
    with registry.cursor() as other:  # by hand, around ingest: no aggregate
        other.execute(f'INSERT INTO "{name}" (sensor_id, ts, value) VALUES (%s, %s, 9)', (sensor.id, stray))
    print("DETACHED", cron._drop_expired_partitions(cutoff))
with registry.cursor() as next_cr:  # the next run
    print("REMOVED", api.Environment(next_cr, SUPERUSER_ID, {})["mro.sensor.reading"]._drop_detached_months())
env.cr.rollback()
env.cr.execute(
    "SELECT value_count, value_max FROM mro_sensor_reading_hourly WHERE sensor_id = %s AND hour = %s",
    (sensor.id, stray.replace(minute=0)),
)
print("STRAY", env.cr.fetchall())
env.cr.execute("SELECT to_regclass(%s), to_regclass(%s)", (name, name + "_expired"))
print("TABLES", env.cr.fetchone())
"""


def test_a_reading_written_while_its_month_is_taken_out_is_rolled_up(template_db, tmp_path):
    db = f"{os.environ.get('MRO_TEST_DB_PREFIX', 'mro_pytest_')}race_{uuid.uuid4().hex[:8]}"
    odoo_server.copy_db(template_db, db)
    try:
        with open(tmp_path / "odoo.log", "ab") as log:
            out = subprocess.run(
                odoo_server.odoo_cmd("shell", "-d", db, "--no-http", "--log-level=warn"),
                input=RACE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                check=True,
            ).stdout
        lines = dict(line.split(" ", 1) for line in out.splitlines() if line.split(" ", 1)[0].isupper())
        assert lines["DETACHED"].startswith("['mro_sensor_reading_p"), out
        assert lines["REMOVED"] == "2", out  # the ingested reading and the stray one
        assert lines["STRAY"] == "[(1, 9.0)]", out  # its value is in the aggregates
        assert lines["TABLES"] == "(None, None)", out
    finally:
        odoo_server.drop_db(db)
