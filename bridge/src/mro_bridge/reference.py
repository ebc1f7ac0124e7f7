"""The reference tables of the bridge's file, written from the options' declarations (mro_bridge.schema).

    python -m mro_bridge.reference README.md bridge/README.md           # rewrite the generated blocks
    python -m mro_bridge.reference --check README.md bridge/README.md   # exit 1 when one is out of date

A generated block sits between ``<!-- begin reference:NAME ... -->`` and ``<!-- end reference:NAME -->``;
NAME is one of :data:`BLOCKS`. ``make readme`` (scripts/gen_readme.py) runs this on both READMEs, and
``make lint`` checks them.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from mro_bridge.config import SECTIONS_SCHEMA
from mro_bridge.model import TagCommon
from mro_bridge.schema import Key, default_text, keys
from mro_bridge.sources.modbus import ModbusDevice, ModbusTagOptions
from mro_bridge.sources.mqtt import MqttDevice, MqttTag
from mro_bridge.sources.opcua import OpcUaDevice, OpcUaTag

#: (table title, device class, tag class) of each protocol, in the README's order.
PROTOCOLS = {
    "modbus": ("Modbus TCP", ModbusDevice, ModbusTagOptions),
    "opcua": ("OPC-UA", OpcUaDevice, OpcUaTag),
    "mqtt": ("MQTT", MqttDevice, MqttTag),
}
#: The settings that keep the bridge safe (bridge/README.md), as (table, key).
SAFETY = [
    ("odoo", "allow_insecure_http"),
    ("spool", "max_dead_letters"),
    ("http", "show_errors"),
    ("http", "max_connections"),
    ("http", "request_timeout"),
    ("mqtt", "max_queue"),
]


def _number(value: float) -> str:
    """``value`` as written in TOML: 604800, not 6.048e+05."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _meaning(key: Key) -> str:
    spec = key.option
    text = spec.doc
    if spec.choices and not any(c in text for c in spec.choices):
        text += f" ({', '.join(spec.choices)})"
    if spec.secret:
        text += (
            f"; or `{key.name}_env`: the name of an environment variable that holds it (inline, the file must be 0600)"
        )
    if spec.minimum is not None or spec.maximum is not None:
        low = "" if spec.minimum is None else _number(spec.minimum)
        high = "" if spec.maximum is None else _number(spec.maximum)
        text += f" [{low}..{high}]" if low and high else (f" [≥ {low}]" if low else f" [≤ {high}]")
    elif spec.positive:
        text += " [> 0]"
    return _cell(text)


def key_table(cls: type, skip: tuple[str, ...] = ()) -> str:
    """A Markdown table of the keys of ``cls``: key, default, unit, meaning."""
    rows = ["| key | default | unit | meaning |", "|---|---|---|---|"]
    for key in keys(cls):
        if key.name in skip:
            continue
        rows.append(f"| `{key.name}` | {default_text(key)} | {key.option.unit} | {_meaning(key)} |")
    return "\n".join(rows)


def sections() -> str:
    parts = []
    for name, cls in SECTIONS_SCHEMA.items():
        summary = cls.__doc__.split(":", 1)[-1].strip().replace("``", "`")
        parts += [f"`[{name}]` — {summary}", ""]
        parts += [key_table(cls), ""]
    return "\n".join(parts).rstrip()


def common_tags() -> str:
    return key_table(TagCommon)


def protocol(kind: str) -> Callable[[], str]:
    def block() -> str:
        title, device, tag = PROTOCOLS[kind]
        common = tuple(k.name for k in keys(TagCommon))
        return "\n".join(
            [
                f"`[[{kind}]]`, one {title} device:",
                "",
                key_table(device),
                "",
                f"`[[{kind}.tags]]`, its tags (beside `code`, `deadband`, `deadband_mode` and `max_silence`):",
                "",
                key_table(tag, skip=common),
            ]
        )

    return block


def odoo_mapping() -> str:
    """Odoo's sensor fields (the *Source* tab) -> the TOML keys ``pull-config`` writes."""
    rows = [
        "| Odoo sensor field | Modbus `[[modbus.tags]]` | OPC-UA `[[opcua.tags]]` | MQTT `[[mqtt.tags]]` | notes |",
        "|---|---|---|---|---|",
        "| `protocol` | `[[modbus]]` | `[[opcua]]` | `[[mqtt]]` | the table the tag goes to; *Manual / API*: none |",
        "| `source_device` | the device's `name` | the device's `name` | the device's `name` | the file must have "
        "a device of that protocol and name (its host, url... stay in the file) |",
        "| `modbus_unit_id` | the device's `unit_id` | — | — | not written by `pull-config`: one `[[modbus]]` "
        "table per unit id |",
    ]
    fields: dict[str, dict[str, tuple[Key, str]]] = {}
    for kind, (_title, _device, tag) in PROTOCOLS.items():
        for key in keys(tag):
            if key.option.odoo:
                fields.setdefault(key.option.odoo, {})[kind] = (key, key.option.odoo_note)
    for odoo_field, by_kind in fields.items():
        cells = []
        notes = []
        for kind in PROTOCOLS:
            if kind not in by_kind:
                cells.append("— (the device's `interval`)" if odoo_field == "poll_interval" else "—")
                continue
            key, note = by_kind[kind]
            cells.append(f"`{key.name}`")
            if note and note not in notes:
                notes.append(note)
            unset = [_number(v) if isinstance(v, (int, float)) else repr(v) for v in key.option.odoo_unset]
            text = f"{' or '.join(unset)} in Odoo: no `{key.name}`, its default {default_text(key)}" if unset else ""
            if text and key.name != "bit" and text not in notes:
                notes.append(text)
        if any(key.kind == "str" and not key.required for key, _note in by_kind.values()):
            notes.append("empty in Odoo: the key is left out (its default)")
        rows.append(f"| `{odoo_field}` | {' | '.join(cells)} | {_cell('; '.join(notes))} |")
    return "\n".join(rows)


def safety() -> str:
    rows = ["| table | key | default | meaning |", "|---|---|---|---|"]
    for table, name in SAFETY:
        cls = SECTIONS_SCHEMA.get(table) or PROTOCOLS[table][1]
        key = next(k for k in keys(cls) if k.name == name)
        shown = f"`[{table}]`" if table in SECTIONS_SCHEMA else f"`[[{table}]]`"
        rows.append(f"| {shown} | `{name}` | {default_text(key)} | {_meaning(key)} |")
    return "\n".join(rows)


BLOCKS: dict[str, Callable[[], str]] = {
    "sections": sections,
    "common-tags": common_tags,
    "modbus": protocol("modbus"),
    "opcua": protocol("opcua"),
    "mqtt": protocol("mqtt"),
    "odoo-mapping": odoo_mapping,
    "safety": safety,
}
_BLOCK = re.compile(r"(<!-- begin reference:([\w-]+)[^>]*-->\n)(.*?)(<!-- end reference:\2 -->)", re.S)


def render(text: str) -> str:
    """``text`` with every generated block rewritten; an unknown block name is a ValueError."""

    def replace(match: re.Match) -> str:
        name = match[2]
        if name not in BLOCKS:
            raise ValueError(f"unknown generated block reference:{name} (known: {', '.join(BLOCKS)})")
        return f"{match[1]}{BLOCKS[name]()}\n{match[4]}"

    return _BLOCK.sub(replace, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="report out-of-date files instead of writing them")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    stale = []
    for path in args.files:
        text = path.read_text()
        fresh = render(text)
        if fresh == text:
            continue
        if args.check:
            stale.append(str(path))
        else:
            path.write_text(fresh)
    if stale:
        print("bridge reference tables not up to date (run `make readme`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
