"""What the security tests share: users of every role over XML-RPC and JSON-RPC, the gateway's credentials,
and a way to tell a refusal from an answer in both protocols."""

from __future__ import annotations

import json
import urllib.request
import uuid
import xmlrpc.client
from dataclasses import dataclass

import pytest
from odoo_server import ADMIN, bridge_credentials


class RpcError(Exception):
    """A call Odoo refused or failed, over either protocol; ``text`` holds Odoo's message."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


@dataclass
class Caller:
    """One user calling Odoo's external API as an integrator would, over XML-RPC or JSON-RPC."""

    odoo: object
    login: str
    password: str
    uid: int

    def xmlrpc(self, model: str, method: str, *args, **kwargs):
        try:
            models = self.odoo.models()
            return models.execute_kw(self.odoo.db, self.uid, self.password, model, method, list(args), kwargs)
        except xmlrpc.client.Fault as exc:
            raise RpcError(exc.faultString) from None

    def jsonrpc(self, model: str, method: str, *args, **kwargs):
        params = {
            "service": "object",
            "method": "execute_kw",
            "args": [self.odoo.db, self.uid, self.password, model, method, list(args), kwargs],
        }
        return jsonrpc(self.odoo, params)

    def both(self, model: str, method: str, *args, **kwargs) -> dict:
        """The answer (or RpcError) of the same call over both protocols: {"xmlrpc": ..., "jsonrpc": ...}."""
        out = {}
        for name in ("xmlrpc", "jsonrpc"):
            try:
                out[name] = getattr(self, name)(model, method, *args, **kwargs)
            except RpcError as exc:
                out[name] = exc
        return out


def jsonrpc(odoo, params: dict):
    body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}).encode()
    request = urllib.request.Request(f"{odoo.url}/jsonrpc", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        data = answer["error"].get("data") or {}
        raise RpcError(f"{data.get('name', '')}: {data.get('message') or answer['error'].get('message')}")
    return answer["result"]


def admin(odoo) -> Caller:
    return Caller(odoo, *ADMIN, odoo.login(*ADMIN))


def ref(odoo, xmlid: str) -> int:
    module, name = xmlid.split(".")
    [row] = admin(odoo).xmlrpc("ir.model.data", "search_read", [("module", "=", module), ("name", "=", name)],
                               fields=["res_id"])  # fmt: skip
    return row["res_id"]


def make_user(odoo, role: str, groups: list[str]) -> Caller:
    """A user of the given groups, with a password, as the people of the plant have."""
    login = f"{role}-{uuid.uuid4().hex[:6]}"
    password = f"pw-{uuid.uuid4().hex}"
    admin(odoo).xmlrpc(
        "res.users", "create",
        {"name": role, "login": login, "password": password, "groups_id": [(6, 0, [ref(odoo, g) for g in groups])]},
    )  # fmt: skip
    return Caller(odoo, login, password, odoo.login(login, password))


@pytest.fixture
def gateway(odoo) -> Caller:
    """The demo gateway LINE1's bridge user, logged in with a fresh API key."""
    _gateway_id, login, key = bridge_credentials(odoo)
    return Caller(odoo, login, key, odoo.login(login, key))


@pytest.fixture
def technician(odoo) -> Caller:
    return make_user(odoo, "technician", ["base.group_user"])


@pytest.fixture
def manager(odoo) -> Caller:
    return make_user(odoo, "manager", ["base.group_user", "maintenance.group_equipment_manager"])
