"""18.0.1.1.0: the fields this addon adds to maintenance.equipment carry the mro_ prefix (OCA's rule)."""

from odoo.addons.mro_sensor_bridge.migration import rename_fields


def migrate(cr, version):
    if not version:
        return
    rename_fields(
        cr,
        "mro_sensor_bridge",
        "maintenance.equipment",
        [("sensor_ids", "mro_sensor_ids"), ("sensor_count", "mro_sensor_count")],
    )
