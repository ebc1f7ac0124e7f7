"""Every option of the bridge's TOML file, declared once: dataclass fields carrying an :class:`Option`.

A table's dataclass (``[odoo]``, ``[[modbus]]``, ``[[modbus.tags]]``...) lists its keys as fields made by
:func:`option`: the field's type annotation, default and the option's bounds, unit, description and the Odoo
field that fills it (for tags). From that one declaration come:

- parsing and validation (:func:`read`), with messages naming the exact key;
- unknown keys refused with the closest known one ("did you mean");
- the defaults (the dataclass's own);
- the README's reference tables and the Odoo-to-TOML mapping (:mod:`mro_bridge.reference`);
- what ``pull-config`` writes for an Odoo sensor (:func:`tag_from_odoo`).

Checks across keys (a certificate required with a security policy, ``tls_cert`` with ``tls_key``...) stay
in the table's ``from_dict``, after :func:`read`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from dataclasses import MISSING, dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    """What the file's reader and the reference need to know about one key, beside its type and default."""

    doc: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    #: The value must be > 0.
    positive: bool = False
    #: Neither 0 (a scale).
    nonzero: bool = False
    choices: tuple[str, ...] | None = None
    #: A secret: given inline (then the file must be 0600) or by environment variable name (``<key>_env``).
    secret: bool = False
    #: Required although the dataclass gives a default (a field after defaulted ones, in a subclass).
    required: bool = False
    #: An empty string is a value (e.g. ``listen = ""``: no HTTP server).
    empty: bool = False
    #: Leading and trailing spaces dropped (sensor codes).
    strip: bool = False
    #: The message when a required key is missing (default "is required").
    missing: str = ""
    #: How the default reads in the reference when it is computed, e.g. '"host:port"'.
    shown_default: str = ""
    #: The tag key's default is the device's key of the same name (Modbus byte order, poll interval...).
    inherited: bool = False
    #: Tags: the Odoo sensor field that fills this key through ``pull-config`` ...
    odoo: str = ""
    #: ... the key under which ``get_bridge_config()`` sends it (default: the TOML key) ...
    wire: str = ""
    #: ... Odoo values that mean "not set" (the key is then left out and its default applies) ...
    odoo_unset: tuple[Any, ...] = ()
    #: ... and how its value is converted (e.g. a register number sent as text).
    odoo_note: str = ""


def option(default: Any = MISSING, **meta: Any) -> Any:
    """A dataclass field for one TOML key: ``default`` (none: the key is required) and :class:`Option`'s
    attributes as keywords."""
    spec = Option(**meta)
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata={"option": spec})
    return dataclasses.field(default=default, metadata={"option": spec})


@dataclass(frozen=True)
class Key:
    """One key of a table as the reader and the reference see it."""

    name: str
    kind: str  # "str", "int", "float", "bool", "list[str]"
    optional: bool  # None allowed (the key may be absent without a default value)
    default: Any  # MISSING when required
    option: Option

    @property
    def required(self) -> bool:
        return self.default is MISSING


_KINDS = ("str", "int", "float", "bool", "list[str]")


def keys(cls: type) -> list[Key]:
    """The TOML keys of the table dataclass ``cls``, in declaration order."""
    found = []
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("option")
        if spec is None:
            continue
        kind = str(f.type).replace(" ", "")
        optional = kind.endswith("|None")
        kind = kind.removesuffix("|None")
        if kind not in _KINDS:  # pragma: no cover - a programming error, caught by the reference test
            raise TypeError(f"{cls.__name__}.{f.name}: unsupported option type {f.type}")
        if spec.required:
            default = MISSING
        elif f.default is not MISSING:
            default = f.default
        elif f.default_factory is not MISSING:
            default = f.default_factory()
        else:
            default = MISSING
        found.append(Key(f.name, kind, optional, default, spec))
    return found


def allowed(cls: type, extra: Collection[str] = ()) -> list[str]:
    """Every key a table of ``cls`` may hold: its options, ``<secret>_env`` for secrets, and ``extra``."""
    names = []
    for key in keys(cls):
        names.append(key.name)
        if key.option.secret:
            names.append(f"{key.name}_env")
    return [*names, *extra]


def read(
    cls: type,
    data: Any,
    path: str,
    inherited: dict[str, Any] | None = None,
    extra: Collection[str] = (),
) -> dict[str, Any]:
    """The values of the table ``data`` (at ``path``, e.g. ``modbus[0]``) for the options of ``cls``: unknown
    keys refused (with the closest known one), each value checked against its type and bounds, defaults
    filled in (for ``inherited`` options, the device's value given there). Raises ConfigError."""
    from mro_bridge.sources._common import check_keys

    check_keys(data, allowed(cls, extra), path)
    values = {}
    for key in keys(cls):
        default = key.default
        if key.option.inherited and inherited is not None and key.name in inherited:
            default = inherited[key.name]
        values[key.name] = read_key(key, data, path, default)
    return values


def read_key(key: Key, data: dict[str, Any], path: str, default: Any) -> Any:
    """The value of ``key`` in the table ``data`` (``default`` when absent; MISSING: required), checked
    against its type and bounds; raises ConfigError naming ``path.key``."""
    # Imported here: mro_bridge.model declares its own options with this module.
    from mro_bridge.model import ConfigError
    from mro_bridge.sources._common import _REQUIRED, flag, integer, real, secret, strings, text

    spec, name = key.option, key.name
    where = f"{path}.{name}"
    if spec.secret:
        value = secret(data, name, path)
        return default if value is None else value
    wanted = _REQUIRED if default is MISSING else default
    if key.kind == "str":
        if spec.empty and data.get(name) == "":
            return ""
        if spec.missing and (not isinstance(data.get(name), str) or not data[name].strip()):
            raise ConfigError(where, spec.missing)
        value = text(data, name, path, wanted, choices=spec.choices)
        return value.strip() if spec.strip and isinstance(value, str) else value
    if key.kind == "int":
        value = integer(data, name, path, wanted, minimum=spec.minimum, maximum=spec.maximum)
    elif key.kind == "float":
        value = real(data, name, path, wanted, minimum=spec.minimum, maximum=spec.maximum, positive=spec.positive)
    elif key.kind == "bool":
        return flag(data, name, path, default)
    else:
        return strings(data, name, path) if name in data else default
    if spec.nonzero and value == 0:
        raise ConfigError(where, "must not be 0")
    return value


# ---------------------------------------------------------------------- Odoo's sensors -> tag tables
def tag_from_odoo(sensor: dict[str, Any], tag_classes: dict[str, type], convert: dict[str, Callable] | None = None):
    """The tag table of one Odoo sensor (as ``get_bridge_config()`` sends it) for its protocol's tag class in
    ``tag_classes``: every option that names an Odoo field, unless Odoo's value means "not set"; ``convert``
    maps a TOML key to a function applied to Odoo's value (it may raise ConfigError)."""
    cls = tag_classes[sensor["protocol"]]
    tag: dict[str, Any] = {}
    for key in keys(cls):
        spec = key.option
        if not spec.odoo:
            continue
        value = sensor.get(spec.wire or key.name)
        if value is None or value is False or value == "" or value in spec.odoo_unset:
            continue
        if convert and key.name in convert:
            value = convert[key.name](value, sensor)
        elif key.kind == "float":
            value = float(value)
        elif key.kind == "int":
            value = int(value)
        tag[key.name] = value
    return tag


def default_text(key: Key) -> str:
    """How the default of ``key`` reads in the reference tables."""
    if key.option.shown_default:
        return key.option.shown_default
    if key.required:
        return "(required)"
    if key.default is None:
        return "(none)"
    if isinstance(key.default, bool):
        return f"`{'true' if key.default else 'false'}`"
    if isinstance(key.default, str):
        return f'`"{key.default}"`'
    if isinstance(key.default, list):
        return "`[]`"
    if isinstance(key.default, float):
        return f"`{int(key.default)}`" if key.default.is_integer() else f"`{key.default:g}`"
    return f"`{key.default}`"
