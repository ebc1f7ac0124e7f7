from odoo.tools import SQL

from . import controllers
from . import models


def uninstall_hook(env):
    """Drop the readings table: Odoo drops ordinary tables only and would leave the partitioned one. Its
    cascade trigger on mro_sensor goes first, as the uninstall deletes sensors before dropping tables."""
    for name in env["mro.sensor.reading"]._detached_months():  # expired months not removed yet
        env.cr.execute(SQL("DROP TABLE %s", SQL.identifier(name)))
    env.cr.execute(
        SQL(
            """DROP TRIGGER IF EXISTS mro_sensor_reading_cascade ON mro_sensor;
               DROP FUNCTION IF EXISTS mro_sensor_reading_cascade();
               DROP TABLE IF EXISTS mro_sensor_reading CASCADE;
               -- the earlier retention design's, on a database not updated since
               DROP TABLE IF EXISTS mro_sensor_reading_checked;
               DROP FUNCTION IF EXISTS mro_sensor_reading_written()"""
        )
    )
