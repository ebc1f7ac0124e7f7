"""Useful from the first readings: a new machine is judged against similar machines until it has a baseline of
its own, and the asset model's past failures feed the Bayesian exponential model."""

from odoo.tests import tagged

from .common import PredictiveCase


@tagged("post_install", "-at_install")
class TestFleetPrior(PredictiveCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model = cls.env.ref("mro_predictive.asset_model_pump")
        cls.pump.mro_asset_model_id = cls.model

    def new_pump(self, name):
        pump = self.env["maintenance.equipment"].create(
            {"name": name, "mro_asset_model_id": self.model.id, "maintenance_team_id": self.team.id}
        )
        sensor = self.env["mro.sensor"].create(
            {"code": f"{name}-VIB", "name": "Vibration", "equipment_id": pump.id, "warning_limit": 2.8,
             "alarm_limit": 4.5}
        )  # fmt: skip
        return pump, sensor

    def test_six_hours_of_data_are_enough_when_similar_machines_exist(self):
        # Three pumps of the model have run for three days: their baselines are learned.
        for k, (pump, sensor) in enumerate([(self.pump, self.vib), *[self.new_pump(f"OLD{k}") for k in range(2)]]):
            self.write_history(sensor, self.healthy(days=3, level=1.1 + 0.05 * k, seed=10 + k))
            self.analyze(pump)
            self.assertTrue(sensor.mro_baseline_n, pump.mro_health_reasons)
        # A new pump, six hours of data, already vibrating at 3 mm/s: an anomaly, against its fleet.
        worn, worn_vib = self.new_pump("NEW1")
        self.write_history(worn_vib, [3.0, 3.02, 2.98, 3.01, 3.0, 2.99])
        self.analyze(worn)
        self.assertTrue(worn.mro_anomaly, worn.mro_health_reasons)
        self.assertIn("population baseline of 3 similar sensors of the asset model", worn.mro_health_reasons)
        self.assertIn("shrunk toward 6 own values", worn.mro_health_reasons)
        self.assertFalse(worn_vib.mro_baseline_n, "the population's baseline is not stored as the sensor's own")
        # A healthy new pump is not an anomaly.
        calm, calm_vib = self.new_pump("NEW2")
        self.write_history(calm_vib, [1.15, 1.17, 1.14, 1.16, 1.15, 1.18])
        self.analyze(calm)
        self.assertFalse(calm.mro_anomaly, calm.mro_health_reasons)
        # Without similar machines (another asset model, no default limits learned), six hours say nothing.
        alone, alone_vib = self.new_pump("NEW3")
        alone.mro_asset_model_id = False
        self.write_history(alone_vib, [3.0, 3.02, 2.98, 3.01, 3.0, 2.99])
        self.analyze(alone)
        self.assertFalse(alone.mro_anomaly)

    def test_the_asset_models_defaults_stand_in_for_a_fleet(self):
        worn, worn_vib = self.new_pump("NEW4")  # no pump of the model has a baseline yet
        self.write_history(worn_vib, [3.4, 3.42, 3.38, 3.41, 3.4, 3.39])
        self.analyze(worn)
        self.assertTrue(worn.mro_anomaly, worn.mro_health_reasons)
        self.assertIn("default healthy level of the asset model", worn.mro_health_reasons)
