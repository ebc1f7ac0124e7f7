"""Upgrading a database of the addons' previous version (fields added to Odoo's models without the mro_ prefix)
to this one: the values, the fields' metadata and what refers to them by name follow the renamed fields, and the
upgrade runs without an error. The previous version is taken from git (the commit before the renames)."""

import os
import subprocess
import uuid

import odoo_server
import pytest

ROOT = odoo_server.ROOT
#: A line of the previous version's equipment model: the commit that removed it is the renames' commit.
OLD_FIELD_LINE = "^    health_score = fields\\."
MODULES = "mro_sensor_bridge,mro_predictive,mro_jit_procurement"
#: Names are translatable (jsonb) in Odoo 18.
FIELD_IDS = "SELECT id FROM ir_model_fields WHERE model = 'maintenance.equipment' AND name IN ({names}) ORDER BY id"
PUMP, TEAM = "name::text LIKE '%Migration pump%'", "name::text LIKE '%Migration team%'"

#: Run in the previous version's shell: an equipment, a sensor, values in the old fields and a saved filter that
#: names them.
SEED = """
team = env["maintenance.team"].create({"name": "Migration team", "resource_calendar_id": env.ref("resource.resource_calendar_std").id})
pump = env["maintenance.equipment"].create({"name": "Migration pump", "criticality": "A", "maintenance_team_id": team.id})
sensor = env["mro.sensor"].create({"code": "MIG-VIB", "name": "Migration vibration", "equipment_id": pump.id})
pump.write({"criticality": "B"})
pump.sudo().write({"health_score": 42.0, "health_state": "warning", "rul_days": 12.5, "anomaly": True, "limiting_sensor_id": sensor.id})
sensor.sudo().write({"baseline_median": 1.25, "baseline_mad": 0.05, "baseline_n": 240, "data_quality": "stuck"})
env["ir.filters"].create({"name": "Migration filter", "model_id": "maintenance.equipment", "user_id": False,
    "domain": "[('health_state', '=', 'warning'), ('anomaly', '=', True)]", "context": "{'group_by': ['criticality']}",
    "sort": '["rul_days desc"]'})
env.cr.commit()
"""  # noqa: E501


def git(*args):
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


def previous_addons(dest):
    """The addons as they were just before the renames, extracted into ``dest``."""
    try:
        renames = git("log", "-1", "--format=%H", "-G", OLD_FIELD_LINE, "--", "addons/mro_predictive/models")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs the git history of the repository")
    if not renames:
        pytest.skip("the renames' commit is not in this history")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", f"{renames}^", "addons"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "addons"


def run_odoo(addons, log, *args, stdin=None):
    paths = odoo_server.addons_path().split(",")
    paths = [p for p in paths if p != str(ROOT / "addons")] + [str(addons)]
    cmd = [*odoo_server.odoo_cmd()[:2], f"--addons-path={','.join(paths)}", *args]
    with open(log, "ab") as out:
        subprocess.run(cmd, input=stdin, check=True, stdout=out, stderr=subprocess.STDOUT, timeout=1200)


def query(db, sql):
    return odoo_server.psql(sql, db=db)


def test_upgrade_renames_fields_and_keeps_values(tmp_path):
    old_addons = previous_addons(tmp_path)
    db = f"{os.environ.get('MRO_TEST_DB_PREFIX', 'mro_pytest_')}migration_{uuid.uuid4().hex[:8]}"
    log = tmp_path / "odoo.log"
    try:
        install = ("-i", MODULES, "--without-demo=all", "--stop-after-init", "--log-level=warn")
        run_odoo(old_addons, log, "-d", db, *install)
        run_odoo(old_addons, log, "shell", "-d", db, "--no-http", "--log-level=warn", stdin=SEED.encode())
        assert query(db, f"SELECT health_score FROM maintenance_equipment WHERE {PUMP}") == "42"
        field_ids = query(db, FIELD_IDS.format(names="'criticality', 'health_score', 'sensor_ids'"))
        assert len(field_ids.splitlines()) == 3

        log.write_text("")  # only the upgrade's messages from here
        run_odoo(ROOT / "addons", log, "-d", db, "-u", MODULES, "--stop-after-init", "--log-level=warn")
        errors = [line for line in log.read_text().splitlines() if " ERROR " in line or " CRITICAL " in line]
        assert not errors, "\n".join(errors)
        names = ", ".join(f"'{name}'" for name in MODULES.split(","))
        versions = query(db, f"SELECT latest_version FROM ir_module_module WHERE name IN ({names})")
        assert set(versions.splitlines()) == {"18.0.1.1.0"}

        # The values are in the new columns; the old columns are gone (renamed, not copied).
        pump = query(
            db,
            "SELECT mro_health_score, mro_health_state, mro_rul_days, mro_anomaly, mro_criticality,"
            f" mro_limiting_sensor_id IS NOT NULL FROM maintenance_equipment WHERE {PUMP}",
        )
        assert pump == "42|warning|12.5|t|B|t"
        sensor = query(
            db, "SELECT mro_baseline_median, mro_baseline_n, mro_data_quality FROM mro_sensor WHERE code = 'MIG-VIB'"
        )
        assert sensor == "1.2500|240|stuck"  # numeric(16, 4)
        team = query(db, f"SELECT mro_resource_calendar_id IS NOT NULL FROM maintenance_team WHERE {TEAM}")
        assert team == "t"
        old_columns = query(
            db,
            "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE"
            " (table_name = 'maintenance_equipment' AND column_name IN ('health_score', 'criticality', 'rul_days'))"
            " OR (table_name = 'mro_sensor' AND column_name IN ('baseline_median', 'anomaly'))"
            " OR (table_name = 'maintenance_team' AND column_name = 'resource_calendar_id')",
        )
        assert old_columns == ""

        # The fields' metadata was renamed, not recreated: what points at a field by its id (tracked changes,
        # defaults, export lines) keeps pointing at it.
        assert query(db, FIELD_IDS.format(names="'mro_criticality', 'mro_health_score', 'mro_sensor_ids'")) == field_ids
        leftovers = query(
            db,
            "SELECT model || '.' || name FROM ir_model_fields WHERE (model = 'maintenance.equipment' AND name IN"
            " ('criticality', 'health_score', 'sensor_ids', 'sensor_count')) OR (model = 'mro.sensor' AND name IN"
            " ('baseline_median', 'anomaly'))",
        )
        assert leftovers == ""
        xmlids = query(
            db,
            "SELECT module || '.' || name FROM ir_model_data WHERE model IN ('ir.model.fields',"
            " 'ir.model.fields.selection') AND name ~ '^(field_|selection__)(maintenance_equipment|mro_sensor)__"
            "(criticality|health_score|health_state|sensor_ids|baseline_median)(__|$)' ORDER BY 1",
        )
        assert xmlids == ""
        assert "mro_sensor_bridge.field_maintenance_equipment__mro_sensor_ids" in query(
            db, "SELECT module || '.' || name FROM ir_model_data WHERE name LIKE 'field_maintenance_equipment__mro_s%'"
        )
        # One index per indexed column, under the new name (an index left under the old name would be doubled).
        indexes = query(
            db,
            "SELECT indexname FROM pg_indexes WHERE tablename = 'maintenance_equipment'"
            " AND indexdef LIKE '%(mro_health_state)%' ORDER BY 1",
        )
        assert indexes == "maintenance_equipment__mro_health_state_index"

        # A saved filter names the new fields.
        saved = query(
            db, "SELECT domain || ' ' || context || ' ' || sort FROM ir_filters WHERE name = 'Migration filter'"
        )
        assert saved == (
            "[('mro_health_state', '=', 'warning'), ('mro_anomaly', '=', True)]"
            " {'group_by': ['mro_criticality']} [\"mro_rul_days desc\"]"
        )
    finally:
        odoo_server.drop_db(db)
