from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import PredictiveCase


@tagged("post_install", "-at_install")
class TestLedger(PredictiveCase):
    def test_predictions_are_kept_and_scored_against_the_failure(self):
        self.write_history(self.vib, self.degradation())
        self.analyze()
        Prediction = self.env["mro.prediction"]
        first = Prediction.search([("equipment_id", "=", self.pump.id)])
        self.assertEqual(len(first), 1)
        self.assertAlmostEqual(first.rul_days, self.pump.mro_rul_days, places=1)
        self.assertTrue(first.data_from < first.data_to)
        self.assertEqual(len(first.quantiles), 99)
        # Analysed again on almost the same data: the same prediction stands, no new row.
        self.write_history(self.vib, self.degradation(days=1, seed=4, start=2.0))
        self.analyze()
        kept = Prediction.search([("equipment_id", "=", self.pump.id)])
        self.assertLessEqual(len(kept), 2)
        # The pump fails 10 days after the first prediction; the corrective request is done.
        failure_day = (first.published_at + timedelta(days=10)).date()
        request = self.env["maintenance.request"].create(
            {
                "name": "Bearing seized",
                "equipment_id": self.pump.id,
                "maintenance_type": "corrective",
                "request_date": failure_day,
            }
        )
        request.stage_id = self.env["maintenance.stage"].search([("done", "=", True)], limit=1)
        scored = kept.filtered(lambda p: p.state == "scored")
        self.assertIn(first, scored)
        expected = first.predicted_failure_date - fields.Datetime.to_datetime(f"{failure_day} 12:00:00")
        self.assertAlmostEqual(first.error_days, expected.total_seconds() / 86400, delta=0.05)  # stored to 0.1 d
        self.assertEqual(first.request_id, request)
        held = first.lower_date <= first.actual_failure_date <= first.upper_date
        self.assertEqual(first.interval_held, held)
        self.assertEqual(first.coverage_pct, 100.0 if held else 0.0)
        self.assertEqual(first.hit, abs(first.error_days) <= max(2.0, 0.25 * first.rul_days))
        # The repair restarts learning: baselines are cleared and relearned from after it.
        self.assertFalse(self.vib.mro_baseline_n)
        self.assertTrue(self.pump.mro_baseline_since)

    def test_accuracy_report_per_asset_model(self):
        model = self.env.ref("mro_predictive.asset_model_pump")
        self.pump.mro_asset_model_id = model
        self.write_history(self.vib, self.degradation())
        self.analyze()
        prediction = self.env["mro.prediction"].search([("equipment_id", "=", self.pump.id)])
        self.assertEqual(prediction.asset_model_id, model)
        # Published three days before the pump failed today.
        prediction.published_at = fields.Datetime.now() - timedelta(days=3)
        request = self.env["maintenance.request"].create(
            {"name": "Failure", "equipment_id": self.pump.id, "maintenance_type": "corrective"}
        )
        request.stage_id = self.env["maintenance.stage"].search([("done", "=", True)], limit=1)
        groups = self.env["mro.prediction"]._read_group(
            [("state", "=", "scored")], ["asset_model_id"], ["hit_pct:avg", "coverage_pct:avg", "__count"]
        )
        self.assertEqual(len(groups), 1)
        self.assertEqual(groups[0][0], model)
        self.assertIn(groups[0][1], (0.0, 100.0))
