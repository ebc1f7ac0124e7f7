"""18.0.1.1.0: the raw readings table becomes partitioned by month (rows and ids kept)."""

import logging

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    Reading = env["mro.sensor.reading"]
    if Reading._is_partitioned():  # init() already did it (the table was empty)
        return
    _logger.info("Partitioning the readings table by month (copies every row once; may take a while)")
    Reading._partition_table()
    # The BRIN index on ts went with the old table: init() made it before the conversion.
    Reading.init()
