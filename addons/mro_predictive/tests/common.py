import time

import numpy as np

from odoo.tests import TransactionCase, new_test_user


class PredictiveCase(TransactionCase):
    """Equipment with a vibration sensor and helpers that write a degradation history."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The cron's jobs run at once, in the test's transaction (queue_job's switch for tests).
        cls.Analysis = cls.env["mro.health.analysis"].with_context(queue_job__no_delay=True)
        cls.technician = new_test_user(cls.env, login="mro-tech", groups="base.group_user", name="Tess Technician")
        cls.team = cls.env["maintenance.team"].create({"name": "Rotating equipment"})
        cls.pump = cls.env["maintenance.equipment"].create(
            {
                "name": "Pump P-7",
                "serial_no": "P7",
                "technician_user_id": cls.technician.id,
                "maintenance_team_id": cls.team.id,
                "mro_criticality": "A",
            }
        )
        cls.vib = cls.env["mro.sensor"].create(
            {
                "code": "P7-VIB",
                "name": "Pump vibration",
                "equipment_id": cls.pump.id,
                "warning_limit": 2.8,
                "alarm_limit": 4.5,
                "physical_max": 50.0,
            }
        )

    def write_history(self, sensor, values, step_hours=1.0, end=None):
        """Store ``values`` as readings of ``sensor``, one per ``step_hours``, the last one at ``end``."""
        end = end or time.time() - 60
        n = len(values)
        stamps = [round((end - (n - 1 - i) * step_hours * 3600) * 1_000_000) for i in range(n)]
        self.env["mro.sensor.reading"]._insert_readings([sensor.id] * n, stamps, [float(v) for v in values])
        sensor.invalidate_recordset()
        return stamps

    @staticmethod
    def degradation(days=30, rate=0.1, noise=0.02, seed=1, start=1.0, scale=0.05):
        """Hourly values of an exponential degradation: start + scale * exp(rate * t_days) + noise.
        With the defaults it crosses 4.5 mm/s at about day 42.5, i.e. ~12.5 days after the last point."""
        rng = np.random.default_rng(seed)
        t = np.arange(days * 24) / 24.0
        return start + scale * np.exp(rate * t) + rng.normal(0.0, noise, len(t))

    @staticmethod
    def healthy(days=30, level=1.2, noise=0.05, seed=2):
        rng = np.random.default_rng(seed)
        return level + rng.normal(0.0, noise, days * 24)

    def analyze(self, equipment=None):
        self.Analysis._analyze(equipment or self.pump)
        (equipment or self.pump).invalidate_recordset()
