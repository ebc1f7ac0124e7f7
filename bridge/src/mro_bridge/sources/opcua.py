"""OPC-UA source: subscriptions (or polling) with the server's source timestamps, security and trust list.

Security: with ``security_policy = "Basic256Sha256"`` the bridge signs (``Sign``) or signs and encrypts
(``SignAndEncrypt``) with its own application instance certificate, created once at the configured
``certificate``/``private_key`` paths when missing and kept from then on (the server's administrator trusts
it once). The server's certificate must be listed in ``trusted_server_certificates``: an unknown one is
refused with its subject and SHA-1 thumbprint, and a copy is saved under ``<certificate dir>/rejected/`` so it
can be inspected and added.

A dead session is noticed three ways — asyncua's connection supervisor (socket closed, or the server-state
probe every ``watchdog_interval`` failing), a bad subscription status, and a local check that the client
is still connected — and every one makes :meth:`OpcUaSource.run` raise: the supervisor reconnects and the
subscription is created afresh.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import math
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState
from asyncua.crypto import cert_gen, security_policies, uacrypto
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from mro_bridge.model import ConfigError, Emit, Reading, Source, TagCommon
from mro_bridge.schema import option, read
from mro_bridge.sources._common import Overlapped, TagProblems, next_due, show_values, tables, unique_codes

_log = logging.getLogger(__name__)

SECURITY_POLICIES = ("None", "Basic256Sha256")
SECURITY_MODES = ("Sign", "SignAndEncrypt")


@dataclass
class OpcUaDevice:
    """An ``[[opcua]]`` table: one OPC-UA server."""

    url: str = option(doc="`opc.tcp://host:port/...`")
    name: str | None = option(None, doc="label in logs and /metrics", shown_default="the URL without `opc.tcp://`")
    mode: str = option(
        "subscribe",
        choices=("subscribe", "poll"),
        doc="subscribe (the server pushes changes) or poll (read every `interval`)",
    )
    interval: float = option(1.0, positive=True, unit="s", doc="publishing and sampling interval, or polling period")
    queue_size: int = option(
        10, minimum=1, maximum=10_000, doc="samples the server keeps per tag between two publications"
    )
    timeout: float = option(5.0, positive=True, unit="s", doc="seconds per request")
    watchdog_interval: float = option(
        2.0, positive=True, unit="s", doc="seconds between checks that the session is alive"
    )
    security_policy: str = option("None", choices=SECURITY_POLICIES, doc="None or Basic256Sha256")
    security_mode: str = option(
        "SignAndEncrypt", choices=SECURITY_MODES, doc="Sign or SignAndEncrypt (with a security policy)"
    )
    certificate: str | None = option(
        None,
        doc="the bridge's own certificate (.der, or .pem/.crt for PEM), created on first use if missing; "
        "required with a security policy",
    )
    private_key: str | None = option(None, doc="its private key (created with it); required with a security policy")
    application_uri: str | None = option(
        None,
        shown_default="`urn:<host name>:mro-bridge`, or the certificate's",
        doc="the application URI of the bridge's certificate",
    )
    certificate_days: int = option(
        1825, minimum=1, maximum=36500, unit="days", doc="validity of a certificate the bridge creates"
    )
    trusted_server_certificates: list[str] = option(
        [], doc="the server certificate files to trust; required with a security policy"
    )
    username: str | None = option(None, doc="omit for anonymous")
    password: str | None = option(None, secret=True, doc="with `username`")


_REFUSED_BY_SERVER = {
    ua.StatusCodes.BadCertificateUntrusted,
    ua.StatusCodes.BadCertificateInvalid,
    ua.StatusCodes.BadSecurityChecksFailed,
    ua.StatusCodes.BadCertificateUriInvalid,
    ua.StatusCodes.BadCertificateUseNotAllowed,
}


class UntrustedServerCertificate(ConnectionError):
    """The server presented a certificate that is not in the trust list."""


@dataclass
class OpcUaTag(TagCommon):
    """An ``[[opcua.tags]]`` table: the common settings plus the variable's node id and a linear conversion."""

    node_id: str = option(
        "",
        required=True,
        doc='the variable\'s node id, e.g. "ns=2;s=Pump201.BearingTemp" or "ns=3;i=1042"',
        odoo="source_address",
        wire="address",
    )
    scale: float = option(1.0, nonzero=True, doc="value = raw × scale + offset", odoo="scale", odoo_unset=(0,))
    offset: float = option(0.0, doc="added after scaling", odoo="value_offset", wire="offset")


@dataclass(frozen=True)
class _Lost:
    reason: str


def thumbprint(der: bytes) -> str:
    """The OPC-UA thumbprint of a DER certificate: SHA-1, upper-case hex."""
    return hashlib.sha1(der).hexdigest().upper()  # SHA-1: what OPC-UA calls the thumbprint


def load_certificate_der(path: str | Path) -> bytes:
    """The DER bytes of a certificate file in PEM or DER form."""
    data = Path(path).read_bytes()
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    return x509.load_der_x509_certificate(data).public_bytes(serialization.Encoding.DER)


def _first_certificate(der: bytes) -> bytes:
    """The first certificate of a DER chain (servers may send their chain)."""
    length = int.from_bytes(der[2:4], "big") + 4
    return der[:length]


def _certificate_uris(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return list(san.value.get_values_for_type(x509.UniformResourceIdentifier))


def ensure_certificate(
    cert_path: str | Path,
    key_path: str | Path,
    application_uri: str | None,
    days: int = 1825,
    server: bool = False,
) -> str:
    """Make sure an application instance certificate and its key exist at the given paths; returns the
    application URI the certificate carries.

    Both missing: a 2048-bit RSA key and a self-signed certificate for ``application_uri`` (default
    ``urn:<host>:mro-bridge``) and this host name are written (PEM or DER by file extension; the key readable
    by its owner only). Both present: they are kept as they are, and must match ``application_uri`` if one is
    given. Only one present: an error, rather than silently replacing what a server may already trust."""
    cert_path, key_path = Path(cert_path), Path(key_path)
    if cert_path.exists() != key_path.exists():
        present, missing = (cert_path, key_path) if cert_path.exists() else (key_path, cert_path)
        raise FileNotFoundError(
            f"{present} exists but {missing} does not: restore it, or remove {present} to make a new pair "
            "(which the server then has to trust again)"
        )
    if cert_path.exists():
        cert = x509.load_der_x509_certificate(load_certificate_der(cert_path))
        uris = _certificate_uris(cert)
        if not uris:
            raise ValueError(f"certificate {cert_path} has no application URI (subjectAltName URI)")
        if application_uri and application_uri not in uris:
            raise ValueError(
                f"certificate {cert_path} was made for application URI {uris[0]}, not {application_uri}: set "
                f"application_uri = {uris[0]!r} or remove the certificate and key to make a new pair"
            )
        if cert.not_valid_after_utc < dt.datetime.now(dt.timezone.utc):
            raise ValueError(
                f"certificate {cert_path} expired on {cert.not_valid_after_utc:%Y-%m-%d}: remove it and its key "
                "to make a new pair, then have the server trust the new one"
            )
        return application_uri or uris[0]
    host = socket.gethostname()
    uri = application_uri or f"urn:{host}:mro-bridge"
    key = cert_gen.generate_private_key()
    cert = cert_gen.generate_self_signed_app_certificate(
        key,
        uri,
        {"organizationName": "mro-bridge"},
        [x509.UniformResourceIdentifier(uri), x509.DNSName(host)],
        extended=[ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH],
        days=days,
    )
    for path in (cert_path, key_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    pem = cert_path.suffix.lower() in (".pem", ".crt")
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM if pem else serialization.Encoding.DER))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(cert_gen.dump_private_key_as_pem(key))
    _log.info(
        "created OPC-UA application certificate %s for %s (thumbprint %s)",
        cert_path,
        uri,
        thumbprint(cert.public_bytes(serialization.Encoding.DER)),
    )
    return uri


def _timestamp(value: ua.DataValue) -> float:
    """Source timestamp, else server timestamp, else now — as UTC epoch seconds."""
    for stamp in (value.SourceTimestamp, value.ServerTimestamp):
        if stamp is not None and stamp.year > 1601:
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=dt.timezone.utc)
            return stamp.timestamp()
    return time.time()


class _Handler:
    """Subscription callbacks -> the source's queue (all on the event loop)."""

    def __init__(self, queue: asyncio.Queue, tags_by_node: dict[str, OpcUaTag]):
        self.queue = queue
        self.tags_by_node = tags_by_node

    def datachange_notification(self, node: Any, _val: Any, data: Any) -> None:
        tag = self.tags_by_node.get(node.nodeid.to_string())
        if tag is not None:
            self.queue.put_nowait((tag, data.monitored_item.Value))

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        code = status.Status
        if not code.is_good():
            self.queue.put_nowait(_Lost(f"subscription status {code.name}"))


class OpcUaSource(Source):
    """One OPC-UA server."""

    kind = "opcua"

    def __init__(self, name: str, settings: OpcUaDevice, tags: list[OpcUaTag], config_path: str = "opcua"):
        super().__init__(name, settings)
        self._tags = tags
        self.trusted_server_certificates = list(settings.trusted_server_certificates)
        #: Where the table is in the file (opcua[0]), for messages that say what to change.
        self.config_path = config_path
        self.problems = TagProblems(self, _log)

    @property
    def period(self) -> float:
        # A subscription only speaks when a value changes, so silence is no sign of a dead server there (the
        # session watchdog is): 0 tells the supervisor not to judge this device by silence.
        return self.interval if self.mode == "poll" else 0.0

    @property
    def tags(self) -> list[TagCommon]:
        return list(self._tags)

    # -- connection -------------------------------------------------------------------------------------

    def _trusted(self) -> dict[str, str]:
        """thumbprint -> file of every trusted server certificate."""
        out = {}
        for i, path in enumerate(self.trusted_server_certificates):
            try:
                out[thumbprint(load_certificate_der(path))] = path
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"{self.config_path}.trusted_server_certificates[{i}]", f"cannot read certificate {path}: {exc}"
                ) from None
        return out

    async def _endpoints(self) -> list[ua.EndpointDescription]:
        probe = Client(self.url, timeout=self.timeout)
        return await asyncio.wait_for(probe.connect_and_get_server_endpoints(), self.timeout * 2)

    def _no_endpoint(self, endpoints: list[ua.EndpointDescription]) -> ConnectionError:
        wanted = "None" if self.security_policy == "None" else f"Basic256Sha256/{self.security_mode}"
        offered = ", ".join(
            sorted({f"{e.SecurityPolicyUri.rsplit('#', 1)[-1]}/{e.SecurityMode.name}" for e in endpoints})
        )
        return ConnectionError(
            f"OPC-UA server {self.url} offers no {wanted} endpoint (it offers {offered}): set "
            f"{self.config_path}.security_policy / security_mode to one of those"
        )

    async def _server_certificate(self) -> bytes:
        """The server's certificate for our policy and mode, refused unless it is in the trust list."""
        endpoints = await self._endpoints()
        policy_uri = security_policies.SecurityPolicyBasic256Sha256.URI
        mode = getattr(ua.MessageSecurityMode, self.security_mode)
        matching = [e for e in endpoints if e.SecurityPolicyUri == policy_uri and e.SecurityMode == mode]
        if not matching:
            raise self._no_endpoint(endpoints)
        der = _first_certificate(matching[0].ServerCertificate)
        trusted = self._trusted()
        print_ = thumbprint(der)
        if print_ in trusted:
            return der
        cert = x509.load_der_x509_certificate(der)
        saved = ""
        if self.certificate:
            rejected = Path(self.certificate).parent / "rejected" / f"{print_}.der"
            try:
                rejected.parent.mkdir(parents=True, exist_ok=True)
                rejected.write_bytes(der)
                saved = f" A copy was saved to {rejected}."
            except OSError:
                pass
        raise UntrustedServerCertificate(
            f"OPC-UA server {self.url} presented an untrusted certificate: subject {cert.subject.rfc4514_string()}, "
            f"SHA-1 thumbprint {print_}, valid until {cert.not_valid_after_utc:%Y-%m-%d}.{saved} If this is the "
            f"right server, add that certificate file to {self.config_path}.trusted_server_certificates."
        )

    async def _connect(self) -> Client:
        client = Client(self.url, timeout=self.timeout, watchdog_intervall=self.watchdog_interval)
        client.name = client.description = f"mro-bridge {self.name}"
        client.product_uri = "urn:mro-bridge"
        client.session_timeout = max(60_000, int(self.watchdog_interval * 10_000))
        if self.username:
            client.set_user(self.username)
            if self.password is not None:
                client.set_password(self.password)
        if self.security_policy != "None":
            uri = ensure_certificate(self.certificate, self.private_key, self.application_uri, self.certificate_days)
            client.application_uri = uri
            server_der = await self._server_certificate()
            await client.set_security(
                security_policies.SecurityPolicyBasic256Sha256,
                self.certificate,
                self.private_key,
                server_certificate=uacrypto.CertProperties(server_der, extension="der"),
                mode=getattr(ua.MessageSecurityMode, self.security_mode),
            )
        try:
            await asyncio.wait_for(client.connect(), self.timeout * 2)
        except ua.UaStatusCodeError as exc:
            if exc.code in _REFUSED_BY_SERVER and self.certificate:
                der = load_certificate_der(self.certificate)
                raise ConnectionError(
                    f"OPC-UA server {self.url} refused the bridge's certificate {self.certificate} "
                    f"(thumbprint {thumbprint(der)}): {type(exc).__name__}. Trust it on the server (often: move "
                    "it from the server's 'rejected' to its 'trusted' certificate folder)."
                ) from exc
            raise
        except ua.UaError as exc:
            if "No matching endpoints" in str(exc):
                raise self._no_endpoint(await self._endpoints()) from exc
            raise
        return client

    async def _close(self, client: Client) -> None:
        try:
            await asyncio.wait_for(client.disconnect(), self.timeout)
        except Exception as exc:  # the connection may be gone already; nothing left to do
            _log.debug("%s: disconnect: %r", self.name, exc)

    # -- reading ----------------------------------------------------------------------------------------

    def _reading(self, tag: OpcUaTag, value: ua.DataValue) -> Reading | None:
        status = value.StatusCode
        raw = value.Value.Value if value.Value is not None else None
        problem = None
        if status is not None and not status.is_good():
            problem = f"status {status.name}"
        elif isinstance(raw, bool):
            raw = 1.0 if raw else 0.0
        elif not isinstance(raw, (int, float)):
            problem = f"value {raw!r} is not a number"
        if problem is None:
            number = raw * tag.scale + tag.offset
            if math.isfinite(number):
                self.problems.ok(tag.code)
                return Reading(tag.code, _timestamp(value), float(number))
            problem = f"value {raw!r} is not finite"
        self.problems.failed(tag.code, f"{problem} (node {tag.node_id})")
        return None

    async def read_all(self, client: Client) -> list[Reading]:
        """Read every tag once (one Read request, source and server timestamps)."""
        params = ua.ReadParameters()
        params.TimestampsToReturn = ua.TimestampsToReturn.Both
        for tag in self._tags:
            params.NodesToRead.append(
                ua.ReadValueId(NodeId=ua.NodeId.from_string(tag.node_id), AttributeId=ua.AttributeIds.Value)
            )
        values = await client.uaclient.read(params)
        readings = [r for tag, v in zip(self._tags, values, strict=True) if (r := self._reading(tag, v)) is not None]
        self.stats.reads += len(readings)
        return readings

    async def run(self, emit: Emit) -> None:
        client = await self._connect()
        queue: asyncio.Queue = asyncio.Queue()

        async def on_lost(exc: Exception) -> None:
            queue.put_nowait(_Lost(f"connection lost ({exc!r})"))

        client.connection_lost_callback = on_lost
        try:
            if self.mode == "poll":
                await self._poll(client, queue, emit)
            else:
                await self._subscribe(client, queue, emit)
        finally:
            await self._close(client)

    def _check_alive(self, client: Client, item: Any) -> None:
        if isinstance(item, _Lost):
            raise ConnectionError(f"OPC-UA server {self.url}: {item.reason}")
        if client.uaclient.state is not UaClientState.CONNECTED:
            raise ConnectionError(f"OPC-UA server {self.url}: session {client.uaclient.state.value}")

    async def _poll(self, client: Client, queue: asyncio.Queue, emit: Emit) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        out = Overlapped(emit)
        try:
            while True:
                self._check_alive(client, None)
                readings = await self.read_all(client)
                if readings:
                    await out.submit(readings)
                now = loop.time()
                due = next_due(due, self.interval, now)
                try:
                    item = await asyncio.wait_for(queue.get(), due - now)
                except asyncio.TimeoutError:
                    continue
                self._check_alive(client, item)
        finally:
            await out.close()

    async def _subscribe(self, client: Client, queue: asyncio.Queue, emit: Emit) -> None:
        tags_by_node = {ua.NodeId.from_string(t.node_id).to_string(): t for t in self._tags}
        ms = self.interval * 1000
        subscription = await client.create_subscription(ms, _Handler(queue, tags_by_node))
        nodes = [client.get_node(t.node_id) for t in self._tags]
        results = await subscription.subscribe_data_change(nodes, queuesize=self.queue_size, sampling_interval=ms)
        failed = [(t, r) for t, r in zip(self._tags, results, strict=True) if isinstance(r, ua.StatusCode)]
        if failed:
            raise ValueError(
                f"{self.name}: cannot subscribe to " + "; ".join(f"{t.code} ({t.node_id}): {r.name}" for t, r in failed)
            )
        _log.info("%s: subscribed to %d node(s) at %s", self.name, len(nodes), self.url)
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), self.watchdog_interval)
            except asyncio.TimeoutError:
                self._check_alive(client, None)
                continue
            batch = [item]
            while not queue.empty():
                batch.append(queue.get_nowait())
            readings = []
            for entry in batch:
                self._check_alive(client, entry)
                reading = self._reading(*entry)
                if reading is not None:
                    readings.append(reading)
            if readings:
                self.stats.reads += len(readings)
                await emit(readings)

    async def check(self) -> str:
        client = await self._connect()
        try:
            self.problems.current.clear()
            readings = await self.read_all(client)
        finally:
            await self._close(client)
        if self.problems.current:
            raise ValueError(f"{self.name}: {len(self.problems.current)} tag(s) unusable: {self.problems.summary()}")
        security = "no security" if self.security_policy == "None" else f"{self.security_policy}/{self.security_mode}"
        values = {r.code: r.value for r in readings}
        return f"opcua {self.name} ({self.url}, {security}): {len(readings)} tag(s) read: {show_values(values)}"


def _tag_from_dict(data: dict[str, Any], path: str) -> OpcUaTag:
    tag = OpcUaTag(**read(OpcUaTag, data, path))
    try:
        ua.NodeId.from_string(tag.node_id)
    except Exception:
        raise ConfigError(
            f"{path}.node_id",
            f"{tag.node_id!r} is not an OPC-UA node id (e.g. 'ns=2;s=Pump1.Vibration' or 'ns=3;i=1042')",
        ) from None
    return tag


def from_dict(data: dict[str, Any], path: str) -> OpcUaSource:
    """An OpcUaSource from one ``[[opcua]]`` table; raises ConfigError naming the offending key."""
    if isinstance(data, dict) and isinstance(data.get("url"), str) and not data["url"].startswith("opc.tcp://"):
        raise ConfigError(f"{path}.url", f"must start with opc.tcp://, not {data['url']!r}")
    device = OpcUaDevice(**read(OpcUaDevice, data, path, extra=("tags",)))
    if device.security_policy == "None":
        for key in ("security_mode", "certificate", "private_key", "application_uri", "trusted_server_certificates"):
            if key in data:
                raise ConfigError(f"{path}.{key}", 'only applies with security_policy = "Basic256Sha256"')
    else:
        for key in ("certificate", "private_key"):
            if getattr(device, key) is None:
                raise ConfigError(
                    f"{path}.{key}", "is required with a security policy (the file is created on first use if missing)"
                )
        if not device.trusted_server_certificates:
            raise ConfigError(
                f"{path}.trusted_server_certificates",
                "list the server certificate file(s) to trust (`mro-bridge check` saves an unknown one under "
                "<certificate dir>/rejected/)",
            )
    tags = [_tag_from_dict(tag, tag_path) for tag, tag_path in tables(data, "tags", path)]
    unique_codes([(t.code, f"{path}.tags[{i}]") for i, t in enumerate(tags)], path)
    nodes: dict[str, int] = {}
    for i, tag in enumerate(tags):
        key = ua.NodeId.from_string(tag.node_id).to_string()
        if key in nodes:
            raise ConfigError(f"{path}.tags[{i}].node_id", f"{tag.node_id!r} is already read by tags[{nodes[key]}]")
        nodes[key] = i
    if device.password is not None and device.username is None:
        raise ConfigError(f"{path}.username", "is required when a password is given")
    name = device.name or device.url.removeprefix("opc.tcp://").rstrip("/")
    return OpcUaSource(name, device, tags, config_path=path)
