"""The bridge's TOML configuration, validated with messages that name the exact key.

Every table's keys are declared once, as the fields of the dataclasses below and of the sources'
(:mod:`mro_bridge.schema`): parsing, defaults, "did you mean" and the README's reference tables come from
there (``python -m mro_bridge.reference``).

Secrets: a file that holds one (``api_key``, ``password``) must be readable by its owner only
(:func:`load` refuses it otherwise), and the bridge writes such files with mode 0600
(:func:`write_private`). Plain ``http://`` to Odoo is refused except to this machine (loopback)
unless ``allow_insecure_http`` says the network is trusted.
"""

from __future__ import annotations

import contextlib
import importlib
import ipaddress
import json
import os
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mro_bridge.model import ConfigError, Source
from mro_bridge.schema import option, read
from mro_bridge.sources._common import check_keys, secret

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SOURCE_KINDS = ("modbus", "opcua", "mqtt")
SECTIONS = ("odoo", "spool", "batch", "http", "supervisor", "log", *SOURCE_KINDS)
#: The only overflow policy: when the spool is full, the oldest readings make room (counted and logged).
OVERFLOW_POLICIES = ("drop_oldest",)
#: Keys that hold a secret when written in the file itself (``<key>_env`` names a variable instead).
SECRET_KEYS = ("api_key", "password")


@dataclass
class OdooConfig:
    """``[odoo]``: where the readings go, as whom, and how failed calls are retried."""

    url: str = option(doc="Odoo's address; plain `http://` only to this machine unless `allow_insecure_http`")
    database: str = option(doc="the database")
    user: str = option(doc="the gateway's bridge user (*Create bridge credentials* on the gateway)")
    api_key: str = option(secret=True, doc="that user's API key")
    gateway: str | None = option(
        None,
        doc="the gateway's code (e.g. `LINE1`): `check`, `pull-config` and `run` refuse to go on when the API key "
        "belongs to another gateway",
    )
    timeout: float = option(30.0, positive=True, unit="s", doc="seconds per call")
    allow_insecure_http: bool = option(
        False,
        doc="plain `http://` to Odoo is refused except to this machine (`localhost`, `127.0.0.0/8`, `::1`); "
        "`true` accepts it for a network you trust",
    )
    retry_initial: float = option(
        1.0,
        positive=True,
        unit="s",
        doc="after a failed call (Odoo down, network, timeout, HTTP 5xx) the next comes after 0.5..1 × this, "
        "doubled at each failure up to `retry_max`; back to this after a success",
    )
    retry_max: float = option(
        30.0,
        positive=True,
        unit="s",
        doc="longest wait between two calls after failures; also the wait after a permanent error (wrong key, "
        "access refused)",
    )


@dataclass
class SpoolConfig:
    """``[spool]``: the local SQLite file every reading goes through."""

    path: str = option("mro-bridge-spool.db", doc="the spool file, relative to the configuration file's folder")
    max_rows: int = option(
        5_000_000, minimum=1, doc="the cap; when full the oldest readings make room (counted and logged)"
    )
    overflow: str = option("drop_oldest", choices=OVERFLOW_POLICIES, doc="the only policy: `drop_oldest`")
    max_dead_letters: int = option(
        100_000,
        minimum=1,
        doc="dead letters kept; beyond, the oldest go (counted in `mro_bridge_dead_letters_dropped_total`)",
    )
    commit_interval: float = option(
        0.01,
        minimum=0,
        maximum=1,
        unit="s",
        doc="group commit: a reading waits at most this long for others to share its transaction (one fsync)",
    )
    commit_max: int = option(50_000, minimum=1, doc="group commit: readings in one transaction at most")


@dataclass
class BatchConfig:
    """``[batch]``: how readings are grouped into ingest calls."""

    size: int = option(5000, minimum=1, maximum=100_000, doc="readings per ingest call")
    flush_interval: float = option(
        0.5,
        positive=True,
        unit="s",
        doc="seconds a partial batch waits (about the bridge's added latency); a full batch goes at once",
    )
    in_flight: int = option(
        2, minimum=1, maximum=8, doc="ingest calls sent at once, each on its own sensors, acknowledged in order"
    )


@dataclass
class HttpConfig:
    """``[http]``: /healthz and /metrics."""

    listen: str = option("127.0.0.1:9108", empty=True, doc='`"host:port"` of /healthz and /metrics; `""` for none')
    show_errors: bool = option(
        False, doc="/healthz shows the text of the last Odoo and device errors (hosts, paths, Odoo's messages)"
    )
    max_connections: int = option(
        16, minimum=1, doc="clients served at once; more are closed at once (`mro_bridge_http_refused_total`)"
    )
    request_timeout: float = option(
        10.0, positive=True, unit="s", doc="seconds a client has to send its whole request (a 16 KiB head at most)"
    )

    @property
    def host_port(self) -> tuple[str, int] | None:
        if not self.listen:
            return None
        host, _, port = self.listen.rpartition(":")
        return host or "0.0.0.0", int(port)


@dataclass
class SupervisorConfig:
    """``[supervisor]``: how devices are reconnected (Odoo's retry is ``[odoo] retry_*``)."""

    backoff_initial: float = option(
        1.0,
        positive=True,
        unit="s",
        doc="a failed device is reconnected after 0..this, then 0..2×, 0..4× ... (full jitter) up to `backoff_max`",
    )
    backoff_max: float = option(60.0, positive=True, unit="s", doc="the longest wait between two reconnections")
    silent_periods: int = option(
        10, minimum=1, doc="connected but no reading for this many poll periods counts as a failure (polled devices)"
    )
    demote_after: int = option(
        10, minimum=1, doc="failures in a row (without a reading between) after which a device is demoted ..."
    )
    demote_for: float = option(
        300.0, minimum=0, unit="s", doc="... for this many seconds, then tried again from `backoff_initial`"
    )


@dataclass
class LogConfig:
    """``[log]``: what the bridge says, on stderr."""

    level: str = option("INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"), doc="DEBUG, INFO, WARNING or ERROR")
    format: str = option("json", choices=("json", "text"), doc='`"json"` (one object per line) or `"text"`')


#: The tables of the file, their dataclass.
SECTIONS_SCHEMA = {
    "odoo": OdooConfig,
    "spool": SpoolConfig,
    "batch": BatchConfig,
    "http": HttpConfig,
    "supervisor": SupervisorConfig,
    "log": LogConfig,
}


@dataclass
class Config:
    odoo: OdooConfig
    spool: SpoolConfig = field(default_factory=SpoolConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    supervisor: SupervisorConfig = field(default_factory=SupervisorConfig)
    log: LogConfig = field(default_factory=LogConfig)
    sources: list[Source] = field(default_factory=list)
    #: The raw tables, for pull-config (which keeps everything but the tags).
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


def load(path: str | Path, require_sources: bool = True) -> Config:
    """Read and validate the TOML file at ``path``; raises ConfigError naming the file and the key, and
    when the file holds a secret but others than its owner may read it."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError("", f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{path}: not valid TOML: {exc}") from None
    secrets = secret_keys(data)
    mode = stat.S_IMODE(path.stat().st_mode)
    if secrets and os.name == "posix" and mode & 0o044:
        raise ConfigError(
            secrets[0],
            f"{path} holds a secret and is readable by {'group and others' if mode & 0o004 else 'its group'} "
            f"(mode {mode:04o}): run `chmod 600 {path}`, or give the secret by environment variable "
            f"({secrets[0]}_env)",
        )
    return parse(data, base=path.parent, require_sources=require_sources)


def secret_keys(data: Any, path: str = "") -> list[str]:
    """Where the parsed TOML ``data`` holds a secret inline (``odoo.api_key``, ``mqtt[0].password``...)."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if key in SECRET_KEYS and isinstance(value, str) and value:
                found.append(where)
            else:
                found += secret_keys(value, where)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            found += secret_keys(item, f"{path}[{i}]")
    return found


def write_private(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by the owner only (0600), whatever the umask, and
    atomically: the file is complete or untouched (a temporary file in the same directory, renamed)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse(data: dict[str, Any], base: Path | None = None, require_sources: bool = True) -> Config:
    """A Config from the parsed TOML ``data``; relative paths are taken from ``base``."""
    check_keys(data, SECTIONS, "")
    odoo_table = _table(data, "odoo", required=True)
    if secret(odoo_table, "api_key", "odoo") is None:
        raise ConfigError("odoo.api_key", "is required (or api_key_env, the name of an environment variable)")
    values = {name: cls(**read(cls, _table(data, name), name)) for name, cls in SECTIONS_SCHEMA.items()}
    odoo = values["odoo"]
    url = odoo.url
    if not url.startswith(("http://", "https://")):
        raise ConfigError("odoo.url", f"must start with http:// or https://, not {url!r}")
    if url.startswith("http://") and not odoo.allow_insecure_http and not _is_loopback(urlsplit(url).hostname):
        raise ConfigError(
            "odoo.url",
            f"{url!r} is plain http: the API key and the readings would cross the network in clear. Use "
            "https://, or set odoo.allow_insecure_http = true for a network you trust (plain http is accepted "
            "without it only to this machine: localhost, 127.0.0.1, ::1)",
        )
    odoo.url = url.rstrip("/")
    if odoo.retry_max < odoo.retry_initial:
        raise ConfigError("odoo.retry_max", "must be at least retry_initial")
    spool_path = Path(values["spool"].path)
    if base is not None and not spool_path.is_absolute():
        values["spool"].path = str(base / spool_path)
    listen = values["http"].listen
    if listen and not _valid_listen(listen):
        raise ConfigError("http.listen", f"must be 'host:port' (or '' for no HTTP server), not {listen!r}")
    if values["supervisor"].backoff_max < values["supervisor"].backoff_initial:
        raise ConfigError("supervisor.backoff_max", "must be at least backoff_initial")
    config = Config(raw=data, **values)
    # pull-config (require_sources=False) takes devices without tags: Odoo's sensors fill them, and the file
    # it writes is then loaded whole.
    config.sources = sources_from(data, skip_tagless=not require_sources)
    if require_sources and not config.sources:
        raise ConfigError("", "no source: add at least one [[modbus]], [[opcua]] or [[mqtt]] table")
    seen: dict[str, str] = {}
    for source in config.sources:
        for tag in source.tags:
            if tag.code in seen:
                raise ConfigError(
                    f"{source.kind} {source.name!r}", f"sensor code {tag.code!r} is already read by {seen[tag.code]}"
                )
            seen[tag.code] = f"{source.kind} {source.name!r}"
    names = [s.name for s in config.sources]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError("", f"two devices are named {name!r}: give each a distinct name")
    return config


def sources_from(data: dict[str, Any], skip_tagless: bool = False) -> list[Source]:
    """The devices of the ``[[modbus]]``, ``[[opcua]]`` and ``[[mqtt]]`` tables (protocol modules load lazily);
    with ``skip_tagless``, devices that list no tags yet are left out instead of refused."""
    found: list[Source] = []
    for kind in SOURCE_KINDS:
        tables = data.get(kind, [])
        if not isinstance(tables, list):
            raise ConfigError(kind, f"must be written [[{kind}]] (an array of tables)")
        if not tables:
            continue
        module = importlib.import_module(f"mro_bridge.sources.{kind}")
        for i, table in enumerate(tables):
            if skip_tagless and isinstance(table, dict) and "tags" not in table:
                continue
            found.append(module.from_dict(table, f"{kind}[{i}]"))
    return found


def _table(data: dict[str, Any], name: str, required: bool = False) -> dict:
    value = data.get(name)
    if value is None:
        if required:
            raise ConfigError(name, f"the [{name}] table is required")
        return {}
    if not isinstance(value, dict):
        raise ConfigError(name, f"must be a [{name}] table")
    return value


def _valid_listen(listen: str) -> bool:
    host, sep, port = listen.rpartition(":")
    return bool(sep) and port.isdigit() and 0 < int(port) < 65536


def to_toml(data: dict[str, Any]) -> str:
    """A small TOML writer for the bridge's configuration (tables, arrays of tables with their ``tags``,
    scalars, string lists); what it writes, :func:`load` reads back. Strings keep non-ASCII as it is."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        raise TypeError(f"cannot write {v!r} as TOML")

    lines: list[str] = []
    for key, item in data.items():
        if isinstance(item, dict):
            lines += ["", f"[{key}]"] + [f"{k} = {value(v)}" for k, v in item.items()]
        elif isinstance(item, list) and item and all(isinstance(x, dict) for x in item):
            for table in item:
                lines += ["", f"[[{key}]]"]
                lines += [
                    f"{k} = {value(v)}"
                    for k, v in table.items()
                    if not isinstance(v, list) or not v or not isinstance(v[0], dict)
                ]
                for sub, rows in table.items():
                    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
                        for row in rows:
                            lines += [f"[[{key}.{sub}]]"] + [f"{k} = {value(v)}" for k, v in row.items()]
        else:
            lines.append(f"{key} = {value(item)}")
    return "\n".join(lines).lstrip() + "\n"
