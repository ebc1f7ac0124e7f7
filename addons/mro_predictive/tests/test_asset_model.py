from odoo.tests import Form, tagged

from .common import PredictiveCase


@tagged("post_install", "-at_install")
class TestAssetModel(PredictiveCase):
    def test_templates_carry_iso_10816_3_zones(self):
        pump = self.env.ref("mro_predictive.asset_model_pump")
        self.assertEqual((pump.iso_group, pump.foundation), ("group2", "rigid"))
        self.assertEqual((pump.zone_ab, pump.zone_bc, pump.zone_cd), (1.4, 2.8, 4.5))
        compressor = self.env.ref("mro_predictive.asset_model_compressor")
        self.assertEqual((compressor.zone_bc, compressor.zone_cd), (4.5, 7.1))
        kinds = set(self.env["mro.asset.model"].search([]).mapped("machine_kind"))
        self.assertTrue({"pump", "motor", "fan", "compressor", "conveyor", "gearbox"} <= kinds)
        with Form(pump) as form:
            form.foundation = "flexible"
            self.assertEqual(form.zone_cd, 7.1)

    def test_applying_a_template_creates_sensors_and_limits(self):
        motor = self.env["maintenance.equipment"].create({"name": "Motor M-9", "serial_no": "M9"})
        model = self.env.ref("mro_predictive.asset_model_motor")
        motor.mro_asset_model_id = model
        motor.action_apply_asset_model()
        sensors = motor.mro_sensor_ids
        self.assertEqual(set(sensors.mapped("code")), {"M9-VIB", "M9-TEMP", "M9-CUR"})
        vib = sensors.filtered(lambda s: s.measure_kind == "vibration_velocity")
        self.assertEqual((vib.warning_limit, vib.alarm_limit, vib.unit), (2.8, 4.5, "mm/s"))
        temp = sensors.filtered(lambda s: s.measure_kind == "temperature")
        self.assertEqual((temp.warning_limit, temp.alarm_limit), (120.0, 140.0))
        # Applying again (say after a change to the template) updates limits, creates nothing new.
        model.foundation = "flexible"
        motor.action_apply_asset_model()
        self.assertEqual(len(motor.mro_sensor_ids), 3)
        self.assertEqual(vib.alarm_limit, 7.1)

    def test_existing_sensor_keeps_its_source_and_gets_limits(self):
        pump = self.env.ref("mro_predictive.asset_model_pump")
        self.pump.mro_asset_model_id = pump
        self.vib.write({"source_device": "plc9", "source_address": "40", "alarm_limit": 0, "warning_limit": 0})
        self.pump.action_apply_asset_model()
        self.assertEqual((self.vib.source_device, self.vib.source_address), ("plc9", "40"))
        self.assertEqual((self.vib.warning_limit, self.vib.alarm_limit), (2.8, 4.5))
        self.assertEqual(len(self.pump.mro_sensor_ids), 4)  # the second vibration, temperature and pressure added
