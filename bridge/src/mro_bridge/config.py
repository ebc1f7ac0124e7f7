"""The bridge's TOML configuration, validated with messages that name the exact key.

[odoo]        url, database, user, api_key | api_key_env, gateway (code, for pull-config), timeout,
              allow_insecure_http
[spool]       path, max_rows (cap), overflow = "drop_oldest", max_dead_letters, commit_interval (seconds),
              commit_max
[batch]       size, flush_interval (seconds), in_flight
[http]        listen = "host:port" (/healthz and /metrics; "" = off), show_errors, max_connections,
              request_timeout
[supervisor]  backoff_initial, backoff_max, silent_periods, demote_after, demote_for
[log]         level, format = "json" | "text"
[[modbus]] / [[opcua]] / [[mqtt]]   the devices and their tags (mro_bridge.sources.*)

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
from mro_bridge.sources._common import check_keys, flag, integer, real, secret, text

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
    url: str
    database: str
    user: str
    api_key: str
    gateway: str | None = None
    timeout: float = 30.0
    #: Plain http:// to a host other than this machine sends the API key in clear: refused unless true.
    allow_insecure_http: bool = False


@dataclass
class SpoolConfig:
    path: str = "mro-bridge-spool.db"
    max_rows: int = 5_000_000
    overflow: str = "drop_oldest"
    #: Dead letters kept; beyond, the oldest go (counted in mro_bridge_dead_letters_dropped_total).
    max_dead_letters: int = 100_000
    #: Group commit: readings wait at most this long (seconds) for others to share their transaction ...
    commit_interval: float = 0.01
    #: ... and a transaction holds at most this many readings.
    commit_max: int = 50_000


@dataclass
class BatchConfig:
    size: int = 5000
    flush_interval: float = 1.0
    #: Ingest calls sent at once (each on its own sensors), acknowledged in order.
    in_flight: int = 2


@dataclass
class HttpConfig:
    listen: str = "127.0.0.1:9108"
    #: /healthz shows the text of the last Odoo and device errors (hosts, paths, Odoo's messages) only if true.
    show_errors: bool = False
    #: Connections served at once; more are closed at once.
    max_connections: int = 16
    #: Seconds a client has to send its whole request.
    request_timeout: float = 10.0

    @property
    def host_port(self) -> tuple[str, int] | None:
        if not self.listen:
            return None
        host, _, port = self.listen.rpartition(":")
        return host or "0.0.0.0", int(port)


@dataclass
class SupervisorConfig:
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    silent_periods: int = 10
    demote_after: int = 10
    demote_for: float = 300.0


@dataclass
class LogConfig:
    level: str = "INFO"
    format: str = "json"


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
    odoo = _table(data, "odoo", required=True)
    key = secret(odoo, "api_key", "odoo")
    if not key:
        raise ConfigError("odoo.api_key", "is required (or api_key_env, the name of an environment variable)")
    check_keys(
        odoo, ("url", "database", "user", "api_key", "api_key_env", "gateway", "timeout", "allow_insecure_http"), "odoo"
    )
    url = text(odoo, "url", "odoo")
    if not url.startswith(("http://", "https://")):
        raise ConfigError("odoo.url", f"must start with http:// or https://, not {url!r}")
    allow_http = flag(odoo, "allow_insecure_http", "odoo", False)
    if url.startswith("http://") and not allow_http and not _is_loopback(urlsplit(url).hostname):
        raise ConfigError(
            "odoo.url",
            f"{url!r} is plain http: the API key and the readings would cross the network in clear. Use "
            "https://, or set odoo.allow_insecure_http = true for a network you trust (plain http is accepted "
            "without it only to this machine: localhost, 127.0.0.1, ::1)",
        )
    config = Config(
        odoo=OdooConfig(
            url=url.rstrip("/"),
            database=text(odoo, "database", "odoo"),
            user=text(odoo, "user", "odoo"),
            api_key=key,
            gateway=text(odoo, "gateway", "odoo", None),
            timeout=real(odoo, "timeout", "odoo", 30.0, positive=True),
            allow_insecure_http=allow_http,
        ),
        raw=data,
    )
    spool = _table(
        data, "spool", keys=("path", "max_rows", "overflow", "max_dead_letters", "commit_interval", "commit_max")
    )
    spool_path = Path(text(spool, "path", "spool", SpoolConfig.path))
    if base is not None and not spool_path.is_absolute():
        spool_path = base / spool_path
    config.spool = SpoolConfig(
        path=str(spool_path),
        max_rows=integer(spool, "max_rows", "spool", SpoolConfig.max_rows, minimum=1),
        overflow=text(spool, "overflow", "spool", "drop_oldest", choices=OVERFLOW_POLICIES),
        max_dead_letters=integer(spool, "max_dead_letters", "spool", SpoolConfig.max_dead_letters, minimum=1),
        commit_interval=real(spool, "commit_interval", "spool", SpoolConfig.commit_interval, minimum=0, maximum=1),
        commit_max=integer(spool, "commit_max", "spool", SpoolConfig.commit_max, minimum=1),
    )
    batch = _table(data, "batch", keys=("size", "flush_interval", "in_flight"))
    config.batch = BatchConfig(
        size=integer(batch, "size", "batch", BatchConfig.size, minimum=1, maximum=100_000),
        flush_interval=real(batch, "flush_interval", "batch", BatchConfig.flush_interval, positive=True),
        in_flight=integer(batch, "in_flight", "batch", BatchConfig.in_flight, minimum=1, maximum=8),
    )
    http = _table(data, "http", keys=("listen", "show_errors", "max_connections", "request_timeout"))
    listen = http.get("listen", HttpConfig.listen)
    if not isinstance(listen, str) or (listen and not _valid_listen(listen)):
        raise ConfigError("http.listen", f"must be 'host:port' (or '' for no HTTP server), not {listen!r}")
    config.http = HttpConfig(
        listen=listen,
        show_errors=flag(http, "show_errors", "http", HttpConfig.show_errors),
        max_connections=integer(http, "max_connections", "http", HttpConfig.max_connections, minimum=1),
        request_timeout=real(http, "request_timeout", "http", HttpConfig.request_timeout, positive=True),
    )
    sup = _table(data, "supervisor", keys=tuple(SupervisorConfig.__dataclass_fields__))
    defaults = SupervisorConfig()
    config.supervisor = SupervisorConfig(
        backoff_initial=real(sup, "backoff_initial", "supervisor", defaults.backoff_initial, positive=True),
        backoff_max=real(sup, "backoff_max", "supervisor", defaults.backoff_max, positive=True),
        silent_periods=integer(sup, "silent_periods", "supervisor", defaults.silent_periods, minimum=1),
        demote_after=integer(sup, "demote_after", "supervisor", defaults.demote_after, minimum=1),
        demote_for=real(sup, "demote_for", "supervisor", defaults.demote_for, minimum=0),
    )
    if config.supervisor.backoff_max < config.supervisor.backoff_initial:
        raise ConfigError("supervisor.backoff_max", "must be at least backoff_initial")
    log = _table(data, "log", keys=("level", "format"))
    config.log = LogConfig(
        level=text(log, "level", "log", "INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR")),
        format=text(log, "format", "log", "json", choices=("json", "text")),
    )
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


def _table(data: dict[str, Any], name: str, required: bool = False, keys: tuple[str, ...] | None = None) -> dict:
    value = data.get(name)
    if value is None:
        if required:
            raise ConfigError(name, f"the [{name}] table is required")
        return {}
    if not isinstance(value, dict):
        raise ConfigError(name, f"must be a [{name}] table")
    if keys is not None:
        check_keys(value, keys, name)
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
