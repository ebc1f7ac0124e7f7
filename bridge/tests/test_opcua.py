"""OPC-UA source against a real asyncua server started in the test."""

import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys

import pytest
from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from source_helpers import Restarter, collect, free_port, latest, wait_for

from mro_bridge.model import ConfigError
from mro_bridge.sources import opcua
from mro_bridge.sources.opcua import UntrustedServerCertificate, ensure_certificate, thumbprint

SERVER_URI = "urn:test:plc"
NS_URI = "urn:test:plant"


def make_certificate(directory, name, uri):
    """A self-signed OPC-UA application certificate (DER) and key (PEM), made with cryptography."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri), x509.DNSName(socket.gethostname())]),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=True,
                data_encipherment=True,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.der", directory / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class Passwords:
    """Server-side user manager: one user, one password."""

    def get_user(self, iserver, username=None, password=None, certificate=None):
        if username == "bridge" and password == "s3cret":
            return User(role=UserRole.User)
        return None


class UaPlc:
    """An asyncua server with two doubles and a string under Objects/P1 (ns = NS_URI)."""

    def __init__(self, port, cert=None, key=None, policies=None, users=None):
        self.port, self.cert, self.key, self.policies, self.users = port, cert, key, policies, users
        self.server = None
        self.client_certificates = []  # thumbprints of the client certificates the server saw

    @property
    def url(self):
        return f"opc.tcp://127.0.0.1:{self.port}/"

    async def start(self):
        server = Server(user_manager=self.users)
        await server.init()
        server.set_endpoint(self.url)
        if self.cert:
            await server.set_application_uri(SERVER_URI)
            await server.load_certificate(str(self.cert))
            await server.load_private_key(str(self.key))
            server.set_security_policy(self.policies)

            async def validate(certificate, _app):
                self.client_certificates.append(thumbprint(certificate.public_bytes(serialization.Encoding.DER)))

            server.set_certificate_validator(validate)
        if self.users:
            server.set_identity_tokens([ua.UserNameIdentityToken])
        ns = await server.register_namespace(NS_URI)
        p1 = await server.nodes.objects.add_object(ns, "P1")
        self.nodes = {
            "Vib": await p1.add_variable(ua.NodeId("P1.Vib", ns), "Vib", 1.0),
            "Temp": await p1.add_variable(ua.NodeId("P1.Temp", ns), "Temp", 20.0),
            "Text": await p1.add_variable(ua.NodeId("P1.Text", ns), "Text", "hello"),
        }
        self.ns = ns
        await server.start()
        self.server = server

    async def write(self, name, value, source_ts=None):
        variant = ua.Variant(value, ua.VariantType.Double if isinstance(value, float) else None)
        await self.nodes[name].write_value(ua.DataValue(variant, SourceTimestamp=source_ts))

    async def stop(self):
        await self.server.stop()
        self.server = None


def source(plc, tags=None, **device):
    tags = tags or [
        {"code": "VIB", "node_id": f"ns={plc.ns};s=P1.Vib"},
        {"code": "TEMP", "node_id": f"ns={plc.ns};s=P1.Temp"},
    ]
    return opcua.from_dict({"url": plc.url, "interval": 0.1, "timeout": 3, **device, "tags": tags}, "opcua[0]")


def test_subscription_delivers_source_timestamps():
    async def main():
        plc = UaPlc(free_port())
        await plc.start()
        try:
            src = source(plc)
            stamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=2)
            task_readings = []

            async def write_later():
                await wait_for(lambda: len(task_readings) >= 2)  # the initial values arrived: subscribed
                await plc.write("Vib", 4.5, stamp)
                await plc.write("Temp", 55.0, stamp + dt.timedelta(seconds=1))

            writer = asyncio.create_task(write_later())

            def until(readings):
                task_readings[:] = readings
                return {("VIB", 4.5), ("TEMP", 55.0)} <= {(r.code, r.value) for r in readings}

            readings = await collect(src, until)
            await writer
            got = {r.code: r for r in readings if r.value in (4.5, 55.0)}
            assert got["VIB"].ts == stamp.timestamp()
            assert got["TEMP"].ts == stamp.timestamp() + 1
            assert src.stats.reads >= 4
        finally:
            await plc.stop()

    asyncio.run(main())


def test_poll_mode_and_check():
    async def main():
        plc = UaPlc(free_port())
        await plc.start()
        try:
            stamp = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
            await plc.write("Vib", 2.25, stamp)
            src = source(plc, mode="poll")
            readings = await collect(src, lambda r: len(r) >= 6)
            vib = [r for r in readings if r.code == "VIB"]
            assert {(r.value, r.ts) for r in vib} == {(2.25, stamp.timestamp())}
            summary = await src.check()
            assert "2 tag(s) read" in summary and "VIB=2.25" in summary
            # a string variable is not a sensor value: check() says which tag and why
            bad = source(plc, [{"code": "TXT", "node_id": f"ns={plc.ns};s=P1.Text"}], mode="poll")
            with pytest.raises(ValueError, match=r"TXT: value 'hello' is not a number"):
                await bad.check()
            # an unknown node: subscribing names the tag and the server's status
            missing = source(plc, [{"code": "NOPE", "node_id": f"ns={plc.ns};s=P1.Missing"}])
            with pytest.raises(ValueError, match=r"NOPE \(ns=\d;s=P1.Missing\): BadNodeIdUnknown"):
                await collect(missing, lambda r: False)
        finally:
            await plc.stop()

    asyncio.run(main())


def test_sign_and_encrypt_with_a_persistent_client_certificate(tmp_path):
    async def main():
        server_cert, server_key = make_certificate(tmp_path, "plc", SERVER_URI)
        plc = UaPlc(
            free_port(), server_cert, server_key, policies=[ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt]
        )
        await plc.start()
        try:
            pki = tmp_path / "pki"
            secured = {
                "security_policy": "Basic256Sha256",
                "security_mode": "SignAndEncrypt",
                "certificate": str(pki / "bridge.der"),
                "private_key": str(pki / "bridge-key.pem"),
                "trusted_server_certificates": [str(server_cert)],
            }
            # the server offers SignAndEncrypt only: an unsecured client cannot even open a session
            with pytest.raises(ConnectionError, match="offers no None endpoint .*Basic256Sha256/SignAndEncrypt"):
                await source(plc).check()
            src = source(plc, **secured)
            summary = await src.check()
            assert "Basic256Sha256/SignAndEncrypt" in summary and "2 tag(s) read" in summary
            # the client certificate was created on first use, with its application URI, key private
            client_der = (pki / "bridge.der").read_bytes()
            cert = x509.load_der_x509_certificate(client_der)
            uris = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert f"urn:{socket.gethostname()}:mro-bridge" in uris.get_values_for_type(x509.UniformResourceIdentifier)
            assert (pki / "bridge-key.pem").stat().st_mode & 0o077 == 0
            assert plc.client_certificates[-1] == thumbprint(client_der)
            # ... and kept: a second source (a bridge restart) presents the same certificate
            readings = await collect(source(plc, **secured), lambda r: len(r) >= 2)
            assert latest(readings) == {"VIB": 1.0, "TEMP": 20.0}
            assert (pki / "bridge.der").read_bytes() == client_der
            assert set(plc.client_certificates) == {thumbprint(client_der)}
            # Sign only: the server does not offer it, and the source says what it offers
            with pytest.raises(
                ConnectionError,
                match=r"no Basic256Sha256/Sign endpoint.*Basic256Sha256/SignAndEncrypt.*opcua\[0\].security_policy",
            ):
                await source(plc, **{**secured, "security_mode": "Sign"}).check()
        finally:
            await plc.stop()

    asyncio.run(main())


def test_sign_mode(tmp_path):
    async def main():
        server_cert, server_key = make_certificate(tmp_path, "plc", SERVER_URI)
        plc = UaPlc(free_port(), server_cert, server_key, policies=[ua.SecurityPolicyType.Basic256Sha256_Sign])
        await plc.start()
        try:
            src = source(
                plc,
                security_policy="Basic256Sha256",
                security_mode="Sign",
                certificate=str(tmp_path / "c.pem"),
                private_key=str(tmp_path / "k.pem"),
                application_uri="urn:test:bridge",
                trusted_server_certificates=[str(server_cert)],
            )
            assert "Basic256Sha256/Sign" in await src.check()
            assert (tmp_path / "c.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE")
        finally:
            await plc.stop()

    asyncio.run(main())


def test_untrusted_server_certificate_is_refused_clearly(tmp_path):
    async def main():
        server_cert, server_key = make_certificate(tmp_path, "plc", SERVER_URI)
        other_cert, _ = make_certificate(tmp_path, "other", "urn:test:other")
        plc = UaPlc(
            free_port(), server_cert, server_key, policies=[ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt]
        )
        await plc.start()
        try:
            src = source(
                plc,
                security_policy="Basic256Sha256",
                certificate=str(tmp_path / "pki" / "bridge.der"),
                private_key=str(tmp_path / "pki" / "bridge-key.pem"),
                trusted_server_certificates=[str(other_cert)],
            )
            expected = thumbprint(server_cert.read_bytes())
            for attempt in (src.check(), collect(src, lambda r: False)):
                with pytest.raises(UntrustedServerCertificate) as info:
                    await attempt
                message = str(info.value)
                assert expected in message
                assert "CN=plc" in message
                assert "opcua[0].trusted_server_certificates" in message
            rejected = tmp_path / "pki" / "rejected" / f"{expected}.der"
            assert rejected.read_bytes() == server_cert.read_bytes()
            assert plc.client_certificates == []  # no session was opened with the unknown server
            # once trusted (the saved copy added to the list), it connects
            trusted = source(plc, **{**src_settings(src), "trusted_server_certificates": [str(rejected)]})
            assert "2 tag(s) read" in await trusted.check()
        finally:
            await plc.stop()

    def src_settings(src):
        return {
            "security_policy": "Basic256Sha256",
            "certificate": src.certificate,
            "private_key": src.private_key,
        }

    asyncio.run(main())


def test_user_and_password(tmp_path, monkeypatch):
    async def main():
        plc = UaPlc(free_port(), users=Passwords())
        await plc.start()
        try:
            monkeypatch.setenv("PLC_PASSWORD", "s3cret")
            good = source(plc, username="bridge", password_env="PLC_PASSWORD")
            assert "2 tag(s) read" in await good.check()
            with pytest.raises(ua.UaStatusCodeError, match="BadUserAccessDenied"):
                await source(plc, username="bridge", password="wrong").check()
        finally:
            await plc.stop()

    asyncio.run(main())


def test_server_restart_subscription_comes_back():
    async def main():
        port = free_port()
        plc = UaPlc(port)
        await plc.start()
        src = source(plc, watchdog_interval=1.0)
        try:
            async with Restarter(src) as sup:
                await wait_for(lambda: any(r.code == "VIB" for r in sup.readings), what="first values")
                await plc.stop()
                await wait_for(lambda: len(sup.failures) >= 1, what="the loss noticed")
                assert isinstance(sup.failures[0], ConnectionError)
                await plc.start()
                await plc.write("Vib", 9.75)
                await wait_for(lambda: any(r.value == 9.75 for r in sup.readings), what="values after the restart")
        finally:
            if plc.server:
                await plc.stop()

    asyncio.run(main())


FROZEN_SERVER = """
import asyncio, sys
from asyncua import Server, ua

async def main():
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{sys.argv[1]}/")
    ns = await server.register_namespace("urn:test:plant")
    p1 = await server.nodes.objects.add_object(ns, "P1")
    await p1.add_variable(ua.NodeId("P1.Vib", ns), "Vib", 1.0)
    await server.start()
    print("ready", ns, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def test_a_frozen_server_is_noticed_by_the_watchdog():
    """The server process stops answering but its socket stays open (SIGSTOP): no TCP error ever comes, so
    only the keepalive/watchdog can tell; run() must raise."""

    async def main():
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-c", FROZEN_SERVER, str(port)], stdout=subprocess.PIPE, text=True)
        try:
            ready = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
            ns = ready.split()[1]
            src = opcua.from_dict(
                {
                    "url": f"opc.tcp://127.0.0.1:{port}/",
                    "interval": 0.2,
                    "timeout": 2,
                    "watchdog_interval": 1,
                    "tags": [{"code": "VIB", "node_id": f"ns={ns};s=P1.Vib"}],
                },
                "opcua[0]",
            )
            first = asyncio.Event()

            async def emit(batch):
                first.set()

            run = asyncio.create_task(src.run(emit))
            await asyncio.wait_for(first.wait(), 10)
            os.kill(proc.pid, signal.SIGSTOP)
            with pytest.raises(ConnectionError):
                await asyncio.wait_for(run, 20)
        finally:
            proc.kill()
            proc.wait()

    asyncio.run(main())


def test_ensure_certificate_keeps_and_checks_the_pair(tmp_path):
    cert, key = tmp_path / "c.der", tmp_path / "k.pem"
    assert ensure_certificate(cert, key, "urn:a") == "urn:a"
    first = cert.read_bytes()
    assert ensure_certificate(cert, key, None) == "urn:a"  # the URI comes from the kept certificate
    assert cert.read_bytes() == first
    with pytest.raises(ValueError, match="made for application URI urn:a, not urn:b"):
        ensure_certificate(cert, key, "urn:b")
    key.unlink()
    with pytest.raises(FileNotFoundError, match="k.pem does not"):
        ensure_certificate(cert, key, None)


def test_timestamp_fallbacks():
    source_ts = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    server_ts = dt.datetime(2024, 1, 2)  # naive: UTC
    assert opcua._timestamp(ua.DataValue(1.0, SourceTimestamp=source_ts, ServerTimestamp=server_ts)) == 1704067200
    assert opcua._timestamp(ua.DataValue(1.0, ServerTimestamp=server_ts)) == 1704153600
    before = dt.datetime.now(dt.timezone.utc).timestamp()
    assert opcua._timestamp(ua.DataValue(1.0)) >= before


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"url": "tcp://x"}, r"opcua\[0\].url: must start with opc.tcp://"),
        (
            {"tags": [{"code": "A", "nodeid": "ns=2;s=A"}]},
            r"opcua\[0\].tags\[0\].nodeid: unknown key; did you mean 'node_id'",
        ),
        ({"tags": [{"code": "A", "node_id": "P1.Vib"}]}, r"tags\[0\].node_id: 'P1.Vib' is not an OPC-UA node id"),
        ({"mode": "push"}, r"opcua\[0\].mode: must be one of subscribe, poll"),
        ({"security_policy": "Basic128Rsa15"}, r"security_policy: must be one of None, Basic256Sha256"),
        ({"security_mode": "Sign"}, r"opcua\[0\].security_mode: only applies with security_policy"),
        ({"security_policy": "Basic256Sha256"}, r"opcua\[0\].certificate: is required with a security policy"),
        (
            {"security_policy": "Basic256Sha256", "certificate": "c.der", "private_key": "k.pem"},
            r"opcua\[0\].trusted_server_certificates: list the server certificate",
        ),
        ({"password": "x"}, r"opcua\[0\].username: is required when a password is given"),
        (
            {"username": "u", "password_env": "MRO_TEST_SURELY_UNSET"},
            r"password_env: environment variable MRO_TEST_SURELY_UNSET is not set",
        ),
        ({"username": "u", "password": "a", "password_env": "B"}, r"password: give either password or password_env"),
        (
            {"tags": [{"code": "A", "node_id": "ns=2;s=A"}, {"code": "B", "node_id": "ns=2;s=A"}]},
            r"tags\[1\].node_id: .* already read by tags\[0\]",
        ),
        ({"interval": -1}, r"opcua\[0\].interval: must be greater than 0"),
    ],
)
def test_config_errors_name_the_key(table, message):
    data = {"url": "opc.tcp://plc:4840", "tags": [{"code": "A", "node_id": "ns=2;s=A"}], **table}
    with pytest.raises(ConfigError, match=message):
        opcua.from_dict(data, "opcua[0]")


def test_config_defaults():
    src = opcua.from_dict({"url": "opc.tcp://plc:4840/", "tags": [{"code": "A", "node_id": "i=2258"}]}, "opcua[0]")
    assert (src.name, src.mode, src.period, src.security_policy, src.kind) == (
        "plc:4840",
        "subscribe",
        0.0,  # a subscription is judged by its watchdog, not by silence
        "None",
        "opcua",
    )
    tags = [{"code": "A", "node_id": "i=2258"}]
    assert opcua.from_dict({"url": "opc.tcp://plc", "mode": "poll", "interval": 5, "tags": tags}, "x").period == 5.0
