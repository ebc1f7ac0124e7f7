"""Who may write and read readings, over XML-RPC and JSON-RPC, as each role.

Before: the gateway group could create() readings directly for any sensor of its company (another gateway's
too), skipping ingest's gateway check, validation and aggregates, and a row written ahead turned the true
reading into a "duplicate"; read_series() gave a bridge user the raw history it may not read; a rejection
told a bridge that a code exists in another gateway or company."""

from __future__ import annotations

import time

from .conftest import RpcError, admin


def sensor_id(odoo, code: str) -> int:
    [found] = admin(odoo).xmlrpc("mro.sensor", "search", [("code", "=", code)])
    return found


def other_gateway_sensor(odoo) -> str:
    """A sensor of the demo company on a second gateway (LINE2), which the LINE1 bridge must not write."""
    boss = admin(odoo)
    [equipment] = boss.xmlrpc("maintenance.equipment", "search", [], limit=1)
    line2 = boss.xmlrpc("mro.sensor.gateway", "create", {"code": "LINE2", "name": "Line 2 bridge"})
    boss.xmlrpc("mro.sensor", "create", {"code": "L2-VIB", "name": "L2", "equipment_id": equipment,
                                         "gateway_id": line2, "physical_max": 50})  # fmt: skip
    return "L2-VIB"


def test_nobody_creates_or_changes_readings_outside_ingest(odoo, gateway, technician, manager):
    target = other_gateway_sensor(odoo)
    ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 60))
    forged = {"sensor_id": sensor_id(odoo, target), "ts": ts, "value": 99.0}
    for who in (gateway, technician, manager, admin(odoo)):
        for protocol, answer in who.both("mro.sensor.reading", "create", forged).items():
            assert isinstance(answer, RpcError), f"{who.login} created a reading over {protocol}"
            assert "not allowed" in answer.text or "only through ingest" in answer.text, answer.text
    own = {"sensor_id": sensor_id(odoo, "P101-VIB-DE"), "ts": ts, "value": 99.0}
    for protocol, answer in gateway.both("mro.sensor.reading", "create", own).items():
        assert isinstance(answer, RpcError), f"the bridge created a reading of its own sensor over {protocol}"
    stored = admin(odoo).xmlrpc("mro.sensor.reading", "search_read", [], fields=["value"])
    assert stored == []
    # The true reading, when it comes through ingest, is stored (not taken for a duplicate of a forged row).
    answer = gateway.xmlrpc("mro.sensor.reading", "ingest", [["P101-VIB-DE", time.time() - 60, 2.5]])
    assert (answer["accepted"], answer["duplicates"]) == (1, 0)
    [row] = admin(odoo).xmlrpc("mro.sensor.reading", "search_read", [], fields=["value"])
    for protocol, refused in admin(odoo).both("mro.sensor.reading", "write", [row["id"]], {"value": 0.1}).items():
        assert isinstance(refused, RpcError), f"the administrator changed a reading over {protocol}"
    assert admin(odoo).xmlrpc("mro.sensor.reading", "read", [row["id"]], ["value"])[0]["value"] == 2.5


def test_technicians_cannot_ingest(odoo, technician, manager):
    for who in (technician, manager):
        for protocol, answer in who.both("mro.sensor.reading", "ingest", [["P101-VIB-DE", time.time(), 1.0]]).items():
            assert isinstance(answer, RpcError), f"{who.login} ingested over {protocol}"


def test_raw_history_only_for_those_who_may_read_readings(odoo, gateway, technician):
    gateway.xmlrpc("mro.sensor.reading", "ingest", [["P101-VIB-DE", time.time() - 30 + i, float(i)] for i in range(3)])
    own = sensor_id(odoo, "P101-VIB-DE")
    assert gateway.xmlrpc("mro.sensor", "read", [own], ["code"])[0]["code"] == "P101-VIB-DE"  # its sensor: yes
    for resolution in ("raw", "hour"):
        answers = gateway.both("mro.sensor", "read_series", [own], time.time() - 3600, resolution=resolution)
        for protocol, answer in answers.items():
            assert isinstance(answer, RpcError), f"the bridge read the {resolution} history over {protocol}"
            assert "not allowed" in answer.text
    for protocol, series in technician.both("mro.sensor", "read_series", [own], time.time() - 3600).items():
        assert not isinstance(series, RpcError), (protocol, series)
        assert series["value"][-3:] == [0.0, 1.0, 2.0], protocol


def test_a_bridge_learns_nothing_of_other_gateways_and_companies(odoo, gateway):
    boss = admin(odoo)
    company = boss.xmlrpc("res.company", "create", {"name": "Other plant"})
    equipment = boss.xmlrpc("maintenance.equipment", "create", {"name": "Their pump", "company_id": company})
    boss.xmlrpc("mro.sensor", "create", {"code": "THEIRS-VIB", "name": "x", "equipment_id": equipment})
    other_gateway_sensor(odoo)
    now = time.time() - 10
    answers = gateway.both(
        "mro.sensor.reading",
        "ingest",
        [["L2-VIB", now, 1.0], ["THEIRS-VIB", now, 1.0], ["NO-SUCH-CODE", now, 1.0]],
    )
    for protocol, answer in answers.items():
        reasons = [r["reason"] for r in answer["rejected"]]
        assert reasons == [
            "unknown sensor code 'L2-VIB'",
            "unknown sensor code 'THEIRS-VIB'",
            "unknown sensor code 'NO-SUCH-CODE'",
        ], protocol
