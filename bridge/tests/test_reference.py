"""One declaration per option: the READMEs' reference tables, the Odoo mapping, pull-config and the
defaults all come from it (mro_bridge.schema, mro_bridge.reference)."""

from __future__ import annotations

import ast
import asyncio
import copy
import re
from pathlib import Path

import pytest

from mro_bridge import cli, reference
from mro_bridge.config import SECTIONS_SCHEMA, parse
from mro_bridge.model import ConfigError
from mro_bridge.schema import allowed, keys
from mro_bridge.sources import modbus, mqtt, opcua

ROOT = Path(__file__).resolve().parents[2]
READMES = [ROOT / "README.md", ROOT / "bridge" / "README.md"]
SENSOR_MODEL = ROOT / "addons" / "mro_sensor_bridge" / "models" / "mro_sensor.py"
BASE = {
    "odoo": {"url": "http://127.0.0.1:8069", "database": "db", "user": "bridge", "api_key": "k"},
    "mqtt": [{"name": "broker", "host": "127.0.0.1", "tags": [{"code": "A-1", "topic": "plant/a"}]}],
}


@pytest.mark.parametrize("path", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_readmes_reference_tables_are_the_schemas(path):
    text = path.read_text()
    assert reference.render(text) == text, f"{path} differs from the options' declarations: run `make readme`"


def test_every_generated_block_is_in_a_readme_and_every_key_in_a_table():
    text = "\n".join(path.read_text() for path in READMES)
    for name in reference.BLOCKS:
        assert f"<!-- begin reference:{name} " in text, name
    for cls in [*SECTIONS_SCHEMA.values(), *(c for _t, *cs in reference.PROTOCOLS.values() for c in cs)]:
        for key in keys(cls):
            assert f"| `{key.name}` |" in text, (cls.__name__, key.name)


def test_a_changed_declaration_makes_the_table_stale(monkeypatch):
    text = (ROOT / "README.md").read_text()
    field = next(f for f in modbus.ModbusDevice.__dataclass_fields__.values() if f.name == "port")
    monkeypatch.setattr(field, "default", 503)
    assert reference.render(text) != text


def test_an_unknown_block_name_is_an_error():
    with pytest.raises(ValueError, match="reference:nope"):
        reference.render("<!-- begin reference:nope -->\n<!-- end reference:nope -->")


@pytest.mark.parametrize(
    ("module", "table", "path", "typo", "meant"),
    [
        (modbus, {"host": "plc", "tags": [{"code": "A", "address": 1, "byteorder": "ABCD"}]}, "modbus[0]",
         "tags[0].byteorder", "byte_order"),
        (opcua, {"url": "opc.tcp://plc", "watchdog": 1, "tags": [{"code": "A", "node_id": "i=1"}]}, "opcua[0]",
         "watchdog", "watchdog_interval"),
        (mqtt, {"host": "b", "sesion_expiry": 60, "tags": [{"code": "A", "topic": "t"}]}, "mqtt[0]",
         "sesion_expiry", "session_expiry"),
    ],
)  # fmt: skip
def test_unknown_keys_are_met_with_the_declared_key_meant(module, table, path, typo, meant):
    with pytest.raises(ConfigError, match=re.escape(f"{path}.{typo}: unknown key; did you mean '{meant}'")):
        module.from_dict(table, path)


def test_secret_options_accept_their_env_form():
    assert "password_env" in allowed(mqtt.MqttDevice) and "password_env" in allowed(opcua.OpcUaDevice)
    assert "api_key_env" in allowed(SECTIONS_SCHEMA["odoo"])


def test_the_defaults_are_the_declared_ones():
    src = modbus.from_dict({"host": "plc", "tags": [{"code": "A", "address": 1}]}, "modbus[0]")
    for key in keys(modbus.ModbusDevice):
        if not key.required and key.name != "name":
            assert getattr(src, key.name) == key.default, key.name
    config = parse(copy.deepcopy(BASE))
    for name, cls in SECTIONS_SCHEMA.items():
        for key in keys(cls):
            if not key.required and name != "spool":  # the spool's path is made absolute
                assert getattr(getattr(config, name), key.name) == key.default, (name, key.name)


# ---------------------------------------------------------------------- Odoo's sensors -> the file
def _odoo_defaults() -> dict[str, object]:
    """Each field of Odoo's mro.sensor and its default (as the model file declares it)."""
    tree = ast.parse(SENSOR_MODEL.read_text())
    found: dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "MroSensor":
            for item in node.body:
                if isinstance(item, ast.Assign) and isinstance(item.value, ast.Call):
                    call = item.value
                    if isinstance(call.func, ast.Attribute) and getattr(call.func.value, "id", "") == "fields":
                        name = item.targets[0].id
                        default = next((k.value for k in call.keywords if k.arg == "default"), None)
                        empty = {"Float": 0.0, "Integer": 0}.get(call.func.attr, "")
                        found[name] = ast.literal_eval(default) if default is not None else empty
    return found


def test_odoo_and_the_file_share_one_default_per_setting():
    """A sensor left at Odoo's defaults pulls to a tag whose keys are the file's defaults (max_silence: 0)."""
    odoo = _odoo_defaults()
    assert odoo["max_silence"] == 0.0
    for kind, cls in cli.tag_classes().items():
        for key in keys(cls):
            spec = key.option
            if not spec.odoo or key.required:
                continue
            assert spec.odoo in odoo, f"{spec.odoo} is not a field of mro.sensor"
            value = odoo[spec.odoo]
            if value in ("", None) or value in spec.odoo_unset:
                continue  # left out: the file's default applies
            if key.kind == "int":
                value = int(value)
            assert value == key.default, (kind, key.name, value, key.default)


def test_pull_config_maps_every_source_field_as_the_readme_says():
    sensor = {
        "code": "P1", "protocol": "modbus", "device": "plc1", "address": "40", "register_type": "input",
        "address_base": 1, "data_type": "uint16", "byte_order": "DCBA", "bit": 0, "scale": 0.0, "offset": 2.5,
        "poll_interval": 0.0, "deadband": 0.0, "deadband_mode": "percent", "max_silence": 0.0,
    }  # fmt: skip
    assert cli.tags_from_odoo(sensor) == {
        "code": "P1", "register_type": "input", "address": 40, "address_base": 1, "data_type": "uint16",
        "byte_order": "DCBA", "bit": 0, "offset": 2.5, "deadband": 0.0, "deadband_mode": "percent",
        "max_silence": 0.0,
    }  # fmt: skip  # bit 0 is a bit (it used to be dropped); scale and poll interval 0: unset in Odoo
    assert "bit" not in cli.tags_from_odoo(dict(sensor, bit=-1))
    mqtt_sensor = {"code": "M1", "protocol": "mqtt", "address": "a/b", "value_path": "", "ts_path": "", "scale": 1}
    assert cli.tags_from_odoo(mqtt_sensor) == {"code": "M1", "topic": "a/b"}  # "": the payload is the value
    opc = {"code": "O1", "protocol": "opcua", "address": "ns=2;s=X", "scale": 2.0, "offset": 0.0, "poll_interval": 5}
    assert cli.tags_from_odoo(opc) == {"code": "O1", "node_id": "ns=2;s=X", "scale": 2.0, "offset": 0.0}
    with pytest.raises(ConfigError, match="P1: Modbus address 'x40' in Odoo is not a register number"):
        cli.tags_from_odoo(dict(sensor, address="x40"))


# ---------------------------------------------------------------------- [odoo] gateway and retry_*
class FakeOdoo:
    def __init__(self, gateway: str):
        self.gateway = gateway

    async def get_bridge_config(self):
        return {"gateway": {"code": self.gateway}, "sensors": []}

    async def check(self):
        return "fake Odoo"

    def close(self):
        pass


def _config(**odoo):
    data = copy.deepcopy(BASE)
    data["odoo"].update(odoo)
    return parse(data)


def test_the_gateway_setting_is_checked_against_the_keys_gateway():
    cli.check_gateway(_config(gateway="LINE1"), {"gateway": {"code": "LINE1"}})
    cli.check_gateway(_config(), {"gateway": {"code": "LINE2"}})  # not set: nothing compared
    with pytest.raises(ConfigError, match="odoo.gateway: is 'LINE1' but the API key of user 'bridge' belongs to "
                       "gateway 'LINE2'"):  # fmt: skip
        cli.check_gateway(_config(gateway="LINE1"), {"gateway": {"code": "LINE2"}})


def test_check_and_pull_config_refuse_another_gateways_key(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_transport", lambda config: FakeOdoo("LINE2"))
    config = _config(gateway="LINE1")
    config.sources = []
    assert asyncio.run(cli.check(config)) == 1
    assert "FAIL  odoo: odoo.gateway: is 'LINE1'" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="belongs to gateway 'LINE2'"):
        asyncio.run(cli.pull_config(config, tmp_path / "out.toml"))
    assert not (tmp_path / "out.toml").exists()


def test_run_stops_when_the_key_belongs_to_another_gateway():
    async def scenario():
        stop, problem = asyncio.Event(), []
        await asyncio.wait_for(cli.watch_gateway(_config(gateway="LINE1"), FakeOdoo("LINE2"), stop, problem), 5)
        return stop.is_set(), problem

    stopped, problem = asyncio.run(scenario())
    assert stopped and "belongs to gateway 'LINE2'" in problem[0]


def test_the_retry_towards_odoo_follows_its_own_settings(tmp_path, monkeypatch):
    import mro_bridge.pipeline

    seen = {}

    class Recording(mro_bridge.pipeline.Pipeline):
        def __init__(self, *args, **kwargs):
            seen.update(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(mro_bridge.pipeline, "Pipeline", Recording)
    data = copy.deepcopy(BASE)
    data["odoo"].update(retry_initial=0.25, retry_max=4.0)
    data.update(spool={"path": str(tmp_path / "spool.db")}, http={"listen": ""})

    async def scenario():
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.5, stop.set)
        return await cli.run(parse(data), stop)

    assert asyncio.run(scenario()) == 0
    assert (seen["retry_initial"], seen["retry_max"]) == (0.25, 4.0)
    assert (parse(copy.deepcopy(BASE)).odoo.retry_initial, parse(copy.deepcopy(BASE)).odoo.retry_max) == (1.0, 30.0)
    data["odoo"].update(retry_initial=10.0, retry_max=1.0)
    with pytest.raises(ConfigError, match="odoo.retry_max: must be at least retry_initial"):
        parse(data)
