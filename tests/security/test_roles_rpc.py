"""What people can forge over the wire, against a real Odoo server, over XML-RPC and JSON-RPC (issue 11, "High:
the money path trusts what people can forge", and the role refusals of "A plant's year").

Each test is an attack that worked on the previous main: a maintenance manager writing an equipment's forecast,
creating a "to order" need; a buyer approving a purchase order by hand; an employee moving an alert or forging
who acknowledged it; a corrective request created directly in a done stage resetting the baselines; an
auto-approved order changed afterwards keeping its approval.
"""

from __future__ import annotations

import json
import urllib.request
import xmlrpc.client

import odoo_server
import pytest
from odoo_server import ADMIN

PASSWORD = "S3cure-enough-for-a-test"


class RpcRefused(Exception):
    """Odoo answered with an error (its class name and message)."""


def xml_call(odoo, uid, password, model, method, *args, **kwargs):
    try:
        return odoo.call(uid, password, model, method, *args, **kwargs)
    except xmlrpc.client.Fault as fault:
        raise RpcRefused(fault.faultString) from None


def json_call(odoo, uid, password, model, method, *args, **kwargs):
    payload = {
        "jsonrpc": "2.0",
        "method": "call",
        "id": 1,
        "params": {
            "service": "object",
            "method": "execute_kw",
            "args": [odoo.db, uid, password, model, method, list(args), kwargs],
        },
    }
    request = urllib.request.Request(
        f"{odoo.url}/jsonrpc", data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.load(response)
    if "error" in answer:
        data = answer["error"].get("data", {})
        raise RpcRefused(f"{data.get('name')}: {data.get('message')}")
    return answer["result"]


TRANSPORTS = {"xmlrpc": xml_call, "jsonrpc": json_call}


@pytest.fixture(params=sorted(TRANSPORTS))
def plant(request, odoo):
    """A pump with a forecast (as the analysis writes it), its bearing, and the people, on a real server."""
    call = TRANSPORTS[request.param]
    admin = odoo.login(*ADMIN)

    def as_admin(model, method, *args, **kwargs):
        return odoo.call(admin, ADMIN[1], model, method, *args, **kwargs)

    def group(xmlid):
        module, name = xmlid.split(".")
        return as_admin(
            "ir.model.data", "search_read", [("module", "=", module), ("name", "=", name)], fields=["res_id"]
        )[0]["res_id"]

    users = {}
    for login, xmlid in (
        ("rpc-manager", "maintenance.group_equipment_manager"),
        ("rpc-buyer", "purchase.group_purchase_user"),
        ("rpc-tech", "base.group_user"),
    ):
        uid = as_admin(
            "res.users",
            "create",
            {
                "name": login,
                "login": login,
                "email": f"{login}@example.com",
                "password": PASSWORD,
                "groups_id": [(6, 0, [group(xmlid)])],
            },
        )
        users[login] = uid
    company = as_admin("res.users", "read", [admin], ["company_id"])[0]["company_id"][0]
    as_admin(
        "res.company",
        "write",
        [company],
        {"mro_auto_approve": True, "mro_auto_approve_a": True, "mro_auto_approve_limit": 500.0,
         "po_double_validation": "one_step"},
    )  # fmt: skip
    vendor = as_admin("res.partner", "create", {"name": "RPC Bearings"})
    product = as_admin(
        "product.product",
        "create",
        {"name": "RPC bearing", "type": "consu", "is_storable": True, "standard_price": 40.0,
         "supplier_taxes_id": [(6, 0, [])], "seller_ids": [(0, 0, {"partner_id": vendor, "price": 40.0, "delay": 5})]},
    )  # fmt: skip
    team = as_admin("maintenance.team", "create", {"name": "RPC team", "member_ids": [(6, 0, [users["rpc-tech"]])]})
    pump = as_admin(
        "maintenance.equipment", "create", {"name": "RPC pump", "mro_criticality": "A", "maintenance_team_id": team}
    )
    sensor = as_admin("mro.sensor", "create", {"code": "RPC-VIB", "name": "RPC vibration", "equipment_id": pump})
    as_admin("mro.equipment.part", "create", {"equipment_id": pump, "product_id": product, "quantity": 1})
    # The analysis' write-back, as it does it (raw SQL, the system's job): a forecast 4 days out, a baseline.
    odoo_server.psql(
        "UPDATE maintenance_equipment SET mro_rul_days = 4, mro_rul_lower_days = 3, mro_rul_upper_days = 5,"
        " mro_rul_confidence = 0.8,"
        " mro_predicted_failure_date = now() AT TIME ZONE 'UTC' + interval '4 days', mro_failure_probability = 0.95,"
        f" mro_last_analysis = now() AT TIME ZONE 'UTC', mro_prediction_model = 'test' WHERE id = {pump};"
        "UPDATE mro_sensor SET mro_baseline_median = 1.2, mro_baseline_mad = 0.05, mro_baseline_n = 240"
        f" WHERE id = {sensor};"
        "INSERT INTO mro_prediction (equipment_id, company_id, published_at, rul_days, rul_lower_days,"
        " rul_upper_days, predicted_failure_date, lower_date, upper_date, failure_probability, state, model)"
        f" VALUES ({pump}, {company}, now() AT TIME ZONE 'UTC', 4, 3, 5, now() AT TIME ZONE 'UTC' + interval '4 days',"
        " now() AT TIME ZONE 'UTC' + interval '3 days', now() AT TIME ZONE 'UTC' + interval '5 days', 0.95, 'open',"
        " 'test');"
        "INSERT INTO mro_health_alert (name, equipment_id, company_id, kind, severity, severity_rank, state,"
        f" state_rank, opened_at) VALUES ('RPC pump: Health state', {pump}, {company}, 'health', 'warning', 1,"
        " 'open', 0, now() AT TIME ZONE 'UTC')",
        db=odoo.db,
    )

    def as_user(login):
        return lambda model, method, *args, **kwargs: call(odoo, users[login], PASSWORD, model, method, *args, **kwargs)

    return {
        "odoo": odoo,
        "admin": as_admin,
        "manager": as_user("rpc-manager"),
        "buyer": as_user("rpc-buyer"),
        "technician": as_user("rpc-tech"),
        "pump": pump,
        "sensor": sensor,
        "product": product,
        "vendor": vendor,
        "users": users,
    }


def test_a_manager_cannot_forge_a_forecast_nor_a_need(plant):
    manager = plant["manager"]
    manager("maintenance.equipment", "write", [plant["pump"]], {"mro_criticality": "B"})  # their job: fine
    for forged in (
        {"mro_rul_days": 1.0},
        {"mro_failure_probability": 1.0},
        {"mro_predicted_failure_date": "2027-01-01 00:00:00"},
    ):
        with pytest.raises(RpcRefused, match="computed by the analysis"):
            manager("maintenance.equipment", "write", [plant["pump"]], forged)
    with pytest.raises(RpcRefused, match="not allowed to create"):
        manager(
            "mro.part.need",
            "create",
            {"equipment_id": plant["pump"], "product_id": plant["product"], "quantity": 500, "state": "due",
             "partner_id": plant["vendor"], "order_by_date": "2026-01-01", "failure_probability": 1.0},
        )  # fmt: skip
    with pytest.raises(RpcRefused, match="computed by the analysis"):
        manager("mro.sensor", "write", [plant["sensor"]], {"mro_baseline_median": 9.0})


def test_a_buyer_cannot_approve_by_hand_and_a_changed_order_loses_its_approval(plant):
    buyer = plant["buyer"]
    buyer("mro.jit.planner", "action_plan_now")  # the system plans for the buyer: one bearing, 40
    [order] = buyer(
        "purchase.order", "search_read", [("partner_id", "=", plant["vendor"])], fields=["state", "mro_approval"]
    )
    assert (order["state"], order["mro_approval"]) == ("purchase", "auto")
    with pytest.raises(RpcRefused, match="approval policy only"):
        buyer("purchase.order", "write", [order["id"]], {"mro_approval_reason": "approved by me"})
    with pytest.raises(RpcRefused, match="approval policy only"):
        buyer("purchase.order", "create", {"partner_id": plant["vendor"], "mro_jit": True, "mro_approval": "auto"})
    # The buyer raises the quantity of the auto-approved order: the approval is withdrawn and decided again.
    [line] = buyer("purchase.order.line", "search", [("order_id", "=", order["id"])])
    buyer("purchase.order.line", "write", [line], {"product_qty": 50})
    [after] = buyer("purchase.order", "read", [order["id"]], ["mro_approval", "mro_approval_reason"])
    assert after["mro_approval"] == "review", after
    assert "above the auto-approval limit" in after["mro_approval_reason"]


def test_an_employee_changes_alerts_only_through_their_buttons(plant):
    technician = plant["technician"]
    [alert] = technician("mro.health.alert", "search", [("equipment_id", "=", plant["pump"])])
    other = plant["admin"]("maintenance.equipment", "create", {"name": "Elsewhere"})
    for forged in ({"equipment_id": other}, {"acknowledged_by_id": plant["users"]["rpc-manager"]}, {"state": "closed"}):
        with pytest.raises(RpcRefused, match="not allowed"):
            technician("mro.health.alert", "write", [alert], forged)
    technician("mro.health.alert", "action_acknowledge", [alert])
    [read] = technician("mro.health.alert", "read", [alert], ["state", "acknowledged_by_id"])
    assert read["state"] == "acknowledged"
    assert read["acknowledged_by_id"][0] == plant["users"]["rpc-tech"]


def test_a_request_created_done_changes_nothing_and_rule_links_are_the_systems(plant):
    technician = plant["technician"]
    done = technician("maintenance.stage", "search", [("done", "=", True)], limit=1)[0]
    technician(
        "maintenance.request",
        "create",
        {"name": "Old failure", "equipment_id": plant["pump"], "maintenance_type": "corrective", "stage_id": done},
    )
    [sensor] = plant["admin"]("mro.sensor", "read", [plant["sensor"]], ["mro_baseline_n"])
    assert sensor["mro_baseline_n"] == 240, "a request created done must not reset the baselines"
    assert (
        plant["admin"]("mro.prediction", "search_count", [("equipment_id", "=", plant["pump"]), ("state", "=", "open")])
        == 1
    )
    [prediction] = plant["admin"]("mro.prediction", "search", [("equipment_id", "=", plant["pump"])])
    with pytest.raises(RpcRefused, match="computed by the analysis"):
        technician(
            "maintenance.request",
            "create",
            {"name": "Kit for me", "equipment_id": plant["pump"], "mro_prediction_id": prediction},
        )
