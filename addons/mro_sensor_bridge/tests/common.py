import time

from odoo.tests import TransactionCase, new_test_user


class MroSensorCase(TransactionCase):
    """A plant with two companies, two gateways and sensors in every state ingest must judge."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Superuser works in the first company only, as a single-company bridge call would.
        cls.Reading = cls.env["mro.sensor.reading"].with_context(allowed_company_ids=[cls.env.company.id])
        cls.Hourly = cls.env["mro.sensor.reading.hourly"]
        cls.company = cls.env.company
        cls.company2 = cls.env["res.company"].create({"name": "Other Plant"})
        cls.equipment = cls.env["maintenance.equipment"].create({"name": "Pump P-1"})
        cls.equipment2 = cls.env["maintenance.equipment"].create({"name": "Pump Q-9", "company_id": cls.company2.id})
        cls.bridge_user = new_test_user(cls.env, login="bridge-gw1", groups="mro_sensor_bridge.group_sensor_gateway")
        cls.gateway = cls.env["mro.sensor.gateway"].create(
            {"code": "GW1", "name": "Line 1", "user_id": cls.bridge_user.id}
        )
        cls.gateway_b = cls.env["mro.sensor.gateway"].create({"code": "GW2", "name": "Line 2"})
        cls.gateway_co2 = cls.env["mro.sensor.gateway"].create(
            {"code": "GWX", "name": "Other plant", "company_id": cls.company2.id}
        )
        Sensor = cls.env["mro.sensor"]
        cls.vib = Sensor.create(
            {
                "code": "P1-VIB",
                "name": "DE bearing vibration",
                "equipment_id": cls.equipment.id,
                "gateway_id": cls.gateway.id,
                "warning_limit": 4.5,
                "alarm_limit": 7.1,
                "source_device": "plc1",
                "source_address": "100",
                "data_type": "float32",
                "byte_order": "CDAB",
                "scale": 0.1,
            }
        )
        cls.temp = Sensor.create(
            {
                "code": "P1-TMP",
                "name": "Bearing temperature",
                "equipment_id": cls.equipment.id,
                "gateway_id": cls.gateway.id,
                "measure_kind": "temperature",
                "protocol": "mqtt",
                "source_address": "plant/p1/temp",
                "mqtt_value_path": "data.value",
            }
        )
        cls.other_gw = Sensor.create(
            {"code": "P1-CUR", "name": "Current", "equipment_id": cls.equipment.id, "gateway_id": cls.gateway_b.id}
        )
        cls.archived = Sensor.create(
            {"code": "P1-OLD", "name": "Old probe", "equipment_id": cls.equipment.id, "gateway_id": cls.gateway.id}
        )
        cls.archived.active = False
        cls.foreign = Sensor.create(
            {
                "code": "Q9-VIB",
                "name": "Other company vibration",
                "equipment_id": cls.equipment2.id,
                "gateway_id": cls.gateway_co2.id,
            }
        )

    def now(self, offset_s=0.0):
        """Epoch seconds, whole milliseconds (as a PLC timestamp would be)."""
        return round(time.time() + offset_s, 3)

    def count_readings(self, sensor):
        return self.Reading.search_count([("sensor_id", "=", sensor.id)])
