import http.client
import struct
import time
import xmlrpc.client
from unittest.mock import patch

from odoo.addons.mro_sensor_bridge.controllers import rpc as ingest_rpc
from odoo.addons.mro_sensor_bridge.mro_ingestion import fast_xmlrpc
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import TEST_CURSOR_COOKIE_NAME


@tagged("post_install", "-at_install")
class TestIngestOverXmlRpc(HttpCase):
    """The XML-RPC endpoint decodes ingest calls with the fast decoder, other calls as before; it decodes
    no reading before the caller is authenticated, none past the batch limit, and no body over 16 MiB."""

    def setUp(self):
        super().setUp()
        equipment = self.env["maintenance.equipment"].create({"name": "Pump X-1"})
        self.sensor = self.env["mro.sensor"].create({"code": "X1-VIB", "name": "vib", "equipment_id": equipment.id})
        self.db = self.env.cr.dbname

    def ingest(self, readings, password="admin", *kwargs):
        return self.xmlrpc_object.execute_kw(self.db, 2, password, "mro.sensor.reading", "ingest", [readings], *kwargs)

    def count_decoded(self):
        """Patch the fast decoder's value conversions: returns the list of values it decoded."""
        decoded = []
        original = fast_xmlrpc._convert

        def spy(kind, text, untyped):
            value = original(kind, text, untyped)
            decoded.append(value)
            return value

        canonical = fast_xmlrpc._canonical_reading

        def canonical_spy(*texts):  # a reading in the bridge's form: three values at once
            values = canonical(*texts)
            decoded.extend(values)
            return values

        for name, replacement in (("_convert", spy), ("_canonical_reading", canonical_spy)):
            patcher = patch.object(fast_xmlrpc, name, replacement)
            patcher.start()
            self.addCleanup(patcher.stop)
        return decoded

    def test_ingest_takes_the_fast_decoder_and_answers_the_same(self):
        fast_calls = []
        original = ingest_rpc.parse_ingest_items

        def spy(data, pos, limit=None):
            result = original(data, pos, limit)
            fast_calls.append(result is not None)
            return result

        t = time.time() - 10
        with patch.object(ingest_rpc, "parse_ingest_items", spy):
            fast = self.ingest([["X1-VIB", t, 1.5], ["NOPE", t, 1]])
            # With keyword arguments the call steps aside to Odoo's own decoder: same answer shape.
            slow = self.ingest([["X1-VIB", t, 1.5], ["X1-VIB", t + 1, 2.5]], "admin", {"context": {"lang": "en_US"}})
            count = self.xmlrpc_object.execute_kw(
                self.db, 2, "admin", "mro.sensor.reading", "search_count", [[("sensor_id", "=", self.sensor.id)]]
            )
        self.assertEqual(fast_calls, [True, False])
        self.assertEqual(fast["accepted"], 1)
        self.assertEqual(fast["rejected"], [{"index": 1, "reason": "unknown sensor code 'NOPE'"}])
        self.assertEqual((slow["accepted"], slow["duplicates"]), (1, 1))
        self.assertEqual(count, 2)

    def test_no_reading_is_decoded_before_the_caller_is_authenticated(self):
        decoded = self.count_decoded()
        t = time.time() - 10
        with self.assertRaises(xmlrpc.client.Fault) as refused:
            self.ingest([["X1-VIB", t + i, 1.0] for i in range(50)], "wrong-key")
        self.assertEqual(refused.exception.faultCode, 3)  # access denied
        self.assertLessEqual(len(decoded), 5, "only the call's head (database, user, key, model, method)")
        self.assertEqual(self.ingest([["X1-VIB", t, 1.0]])["accepted"], 1)
        self.assertEqual(len(decoded), 5 + 5 + 3)  # the head, then an authenticated call's head and reading

    def test_a_packed_call_is_decoded_only_once_the_caller_is_authenticated(self):
        decoded = []
        original = xmlrpc.client.loads

        def spy(data, *args, **kwargs):
            if b"ingest_packed" in (data if isinstance(data, bytes) else data.encode()):
                decoded.append(data)
            return original(data, *args, **kwargs)

        t = time.time() - 10
        batch = {
            "codes": ["X1-VIB"],
            "sensor": xmlrpc.client.Binary(struct.pack("<2I", 0, 0)),
            "time": xmlrpc.client.Binary(struct.pack("<2d", t, t + 1)),
            "value": xmlrpc.client.Binary(struct.pack("<2d", 1.5, 2.5)),
        }
        call = self.xmlrpc_object.execute_kw
        with patch.object(ingest_rpc.xmlrpc.client, "loads", spy):
            with self.assertRaises(xmlrpc.client.Fault) as refused:
                call(self.db, 2, "wrong-key", "mro.sensor.reading", "ingest_packed", [batch])
            self.assertEqual(refused.exception.faultCode, 3)  # access denied
            self.assertEqual(decoded, [], "nothing of the batch decoded for a caller who is not known")
            answer = call(self.db, 2, "admin", "mro.sensor.reading", "ingest_packed", [batch])
        self.assertEqual(len(decoded), 1)
        self.assertEqual(answer, {"accepted": 2, "duplicates": 0, "rejected": []})
        stored = self.env["mro.sensor.reading"].search([("sensor_id", "=", self.sensor.id)], order="ts")
        self.assertEqual(stored.mapped("value"), [1.5, 2.5])

    def test_no_reading_is_decoded_past_the_batch_limit(self):
        decoded = self.count_decoded()
        t = time.time() - 100
        Reading = type(self.env["mro.sensor.reading"])
        with patch.object(Reading, "_ingest_max_batch", 5), self.assertRaises(xmlrpc.client.Fault) as refused:
            self.ingest([["X1-VIB", t + i, 1.0] for i in range(50)])
        self.assertIn("at most 5 readings per call", refused.exception.faultString)
        self.assertLessEqual(len(decoded), 5 + 5 * 3)
        self.assertEqual(self.env["mro.sensor.reading"].search_count([("sensor_id", "=", self.sensor.id)]), 0)

    def test_an_ingest_body_over_16_mib_is_refused_before_it_is_read(self):
        item = b"<value><array><data><value><string>X1-VIB</string></value><value><double>1.0</double></value>"
        item += b"<value><double>1.0</double></value></data></array></value>\n"
        head = xmlrpc.client.dumps((self.db, 2, "admin", "mro.sensor.reading", "ingest"), methodname="execute_kw")
        head = head.replace("</params>\n</methodCall>\n", "").encode()
        head += b"<param><value><array><data><value><array><data>\n" + item * 100
        size = ingest_rpc.INGEST_MAX_BODY + 1
        host, port = self.base_url().split("//")[1].split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            # Only the head of the body is sent: the answer comes without the rest.
            connection.putrequest("POST", "/xmlrpc/2/object")
            connection.putheader("Content-Type", "text/xml")
            connection.putheader("Content-Length", str(size))
            connection.putheader("Cookie", f"{TEST_CURSOR_COOKIE_NAME}={self.canonical_tag}")
            connection.endheaders(head)
            response = connection.getresponse()
            self.assertEqual(response.status, 413)
            self.assertIn(b"at most 16777216 bytes", response.read())
        finally:
            connection.close()
        # Every other call keeps Odoo's own limit: a 17 MiB search is no ingest call.
        technician = new_test_user(self.env, login="tech-rpc", password="tech-rpc-pass", groups="base.group_user")
        big = "x" * size
        ids = self.xmlrpc_object.execute_kw(
            self.db, technician.id, "tech-rpc-pass", "mro.sensor", "search", [[("name", "!=", big)]]
        )
        self.assertIn(self.sensor.id, ids)
