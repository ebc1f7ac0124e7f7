"""The ingest API over XML-RPC, exactly as mro-bridge calls it, against a real Odoo server."""

import asyncio
import math
import time
import xmlrpc.client

import pytest
from odoo_server import ADMIN, bridge_credentials

from mro_bridge.odoo import XmlRpcOdoo


def test_bridge_pulls_config_and_ingests_over_xmlrpc(odoo):
    gateway_id, login, key = bridge_credentials(odoo)
    uid = odoo.login(login, key)  # the API key stands in for the password
    models = odoo.models()

    config = models.execute_kw(odoo.db, uid, key, "mro.sensor.gateway", "get_bridge_config", [[]])
    assert config["gateway"]["id"] == gateway_id
    codes = {tag["code"]: tag for tag in config["sensors"]}
    assert {"P101-VIB-DE", "P101-TEMP-DE", "M201-CUR"} <= set(codes)
    assert codes["P101-TEMP-DE"]["data_type"] == "int16"
    assert codes["M201-CUR"]["address"] == "plant/line1/m201/current"

    now = time.time()
    batch = [
        ["P101-VIB-DE", now - 3, 2.5],
        ["P101-VIB-DE", time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - 2)), 2.75],
        ["P101-TEMP-DE", now - 1, 61],
        ["NO-SUCH-SENSOR", now - 1, 1.0],
        ["P101-VIB-DE", now - 1, "high"],
    ]
    first = models.execute_kw(odoo.db, uid, key, "mro.sensor.reading", "ingest", [batch])
    assert first["accepted"] == 3
    assert first["duplicates"] == 0
    assert [(r["index"], r["reason"]) for r in first["rejected"]] == [
        (3, "unknown sensor code 'NO-SUCH-SENSOR'"),
        (4, "value must be a number, got str"),
    ]
    # The bridge replays a batch after a lost answer: nothing new is stored.
    second = models.execute_kw(odoo.db, uid, key, "mro.sensor.reading", "ingest", [batch])
    assert (second["accepted"], second["duplicates"], len(second["rejected"])) == (0, 3, 2)

    admin_uid = odoo.login(*ADMIN)
    rows = odoo.call(
        admin_uid,
        ADMIN[1],
        "mro.sensor.reading",
        "search_read",
        [("sensor_id.code", "in", ["P101-VIB-DE", "P101-TEMP-DE"])],
        fields=["value"],
    )
    assert sorted(r["value"] for r in rows) == [2.5, 2.75, 61.0]
    [sensor] = odoo.call(
        admin_uid, ADMIN[1], "mro.sensor", "search_read", [("code", "=", "P101-VIB-DE")], fields=["last_value"]
    )
    assert sensor["last_value"] == 2.75
    [gateway] = odoo.call(admin_uid, ADMIN[1], "mro.sensor.gateway", "read", [gateway_id], fields=["last_seen"])
    assert gateway["last_seen"]


def test_bridge_user_is_refused_everything_else(odoo):
    _gateway_id, login, key = bridge_credentials(odoo)
    uid = odoo.login(login, key)
    models = odoo.models()
    for model in ("maintenance.equipment", "res.partner", "mro.sensor.reading"):
        with pytest.raises(xmlrpc.client.Fault, match="not allowed to access"):
            models.execute_kw(odoo.db, uid, key, model, "search_read", [[]], {"limit": 1})
    with pytest.raises(xmlrpc.client.Fault, match="not allowed to modify"):
        sensor_ids = models.execute_kw(odoo.db, uid, key, "mro.sensor", "search", [[]])
        models.execute_kw(odoo.db, uid, key, "mro.sensor", "write", [sensor_ids, {"alarm_limit": 99.0}])


def test_whole_call_errors_are_clear_and_store_nothing(odoo):
    _gateway_id, login, key = bridge_credentials(odoo)
    uid = odoo.login(login, key)
    models = odoo.models()
    with pytest.raises(xmlrpc.client.Fault, match="expects a list"):
        models.execute_kw(odoo.db, uid, key, "mro.sensor.reading", "ingest", ["P101-VIB-DE"])
    start = int(time.time()) - 200_000
    too_many = [["P101-VIB-DE", start + i, 1] for i in range(100_001)]  # within the 16 MiB a call may carry
    with pytest.raises(xmlrpc.client.Fault, match="at most 100000 readings per call"):
        models.execute_kw(odoo.db, uid, key, "mro.sensor.reading", "ingest", [too_many])
    admin_uid = odoo.login(*ADMIN)
    assert odoo.call(admin_uid, ADMIN[1], "mro.sensor.reading", "search_count", []) == 0
    # A wrong key is refused at the door.
    assert not xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/common").authenticate(odoo.db, login, "nope", {})


def test_the_bridge_sends_packed_calls_that_odoo_reads_as_the_list_form(odoo):
    """mro-bridge's own transport against a real Odoo: its calls go in the packed form (``ingest_packed``),
    whose answer is the list form's, index for index; a replay stores nothing twice."""
    _gateway_id, login, key = bridge_credentials(odoo)
    transport = XmlRpcOdoo(odoo.url, odoo.db, login, key)
    now = time.time() - 600
    batch = [
        ["P101-VIB-DE", now, 3.5],
        ["NO-SUCH-SENSOR", now, 1.0],
        ["P101-VIB-DE", now + 1, math.nan],
        ["P101-TEMP-DE", now + 1, 62.0],
    ]
    try:
        first = asyncio.run(transport.ingest(batch))
        assert transport.packed  # Odoo took the packed form: no fallback to lists
        assert (first["accepted"], first["duplicates"]) == (2, 0)
        assert [(r["index"], r["reason"]) for r in first["rejected"]] == [
            (1, "unknown sensor code 'NO-SUCH-SENSOR'"),
            (2, "value is not finite (nan)"),
        ]
        again = asyncio.run(transport.ingest(batch))
        assert (again["accepted"], again["duplicates"], len(again["rejected"])) == (0, 2, 2)
    finally:
        transport.close()
    admin_uid = odoo.login(*ADMIN)
    rows = odoo.call(
        admin_uid, ADMIN[1], "mro.sensor.reading", "search_read", [("value", "in", [3.5, 62.0])], fields=["value"]
    )
    assert sorted(r["value"] for r in rows) == [3.5, 62.0]
