import time
from unittest.mock import patch

from odoo.addons.mro_sensor_bridge.controllers import rpc as ingest_rpc
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestIngestOverXmlRpc(HttpCase):
    """The XML-RPC endpoint decodes ingest calls with the fast decoder, other calls as before."""

    def setUp(self):
        super().setUp()
        equipment = self.env["maintenance.equipment"].create({"name": "Pump X-1"})
        self.sensor = self.env["mro.sensor"].create({"code": "X1-VIB", "name": "vib", "equipment_id": equipment.id})

    def test_ingest_takes_the_fast_decoder_and_answers_the_same(self):
        decoded = []
        original = ingest_rpc.parse_ingest_call

        def spy(data):
            result = original(data)
            decoded.append(result is not None)
            return result

        t = time.time() - 10
        with patch.object(ingest_rpc, "parse_ingest_call", spy):
            fast = self.xmlrpc_object.execute_kw(
                self.env.cr.dbname, 2, "admin", "mro.sensor.reading", "ingest", [[["X1-VIB", t, 1.5], ["NOPE", t, 1]]]
            )
            # With keyword arguments the call steps aside to Odoo's own decoder: same answer shape.
            slow = self.xmlrpc_object.execute_kw(
                self.env.cr.dbname,
                2,
                "admin",
                "mro.sensor.reading",
                "ingest",
                [[["X1-VIB", t, 1.5], ["X1-VIB", t + 1, 2.5]]],
                {"context": {"lang": "en_US"}},
            )
            count = self.xmlrpc_object.execute_kw(
                self.env.cr.dbname,
                2,
                "admin",
                "mro.sensor.reading",
                "search_count",
                [[("sensor_id", "=", self.sensor.id)]],
            )
        self.assertEqual(decoded, [True, False, False])
        self.assertEqual(fast["accepted"], 1)
        self.assertEqual(fast["rejected"], [{"index": 1, "reason": "unknown sensor code 'NOPE'"}])
        self.assertEqual((slow["accepted"], slow["duplicates"]), (1, 1))
        self.assertEqual(count, 2)
