"""Bad values and bad bodies sent to Odoo's ingest, as a bridge (or anyone with its key) could.

Before: 1.6e308 passed validation, and two of them in one sensor-hour overflowed the hourly sum, so
PostgreSQL failed the whole call (and the bridge retried that batch forever); values beyond the sensor's
physical range were stored; two items with the same sensor and time but different values kept one at
random; an ingest body of any size up to Odoo's 128 MiB was read and decoded before the caller was known."""

from __future__ import annotations

import http.client
import socket
import time
import xmlrpc.client

from .conftest import admin


def test_the_overflow_batch_is_refused_item_by_item(odoo, gateway):
    t = float(int(time.time()) - 120)
    answer = gateway.xmlrpc(
        "mro.sensor.reading",
        "ingest",
        [["P101-VIB-DE", t, 1.6e308], ["P101-VIB-DE", t + 1, 1.6e308], ["P101-VIB-DE", t + 2, 3.5]],
    )
    assert answer["accepted"] == 1
    assert [r["index"] for r in answer["rejected"]] == [0, 1]
    assert all("beyond ±1e+15" in r["reason"] for r in answer["rejected"])
    hourly = admin(odoo).xmlrpc("mro.sensor.reading.hourly", "search_read", [("sensor_id.code", "=", "P101-VIB-DE")],
                                fields=["value_count", "value_sum"])  # fmt: skip
    assert [(h["value_count"], h["value_sum"]) for h in hourly] == [(1, 3.5)]


def test_values_outside_the_physical_range_are_refused(odoo, gateway):
    # the demo's drive-end sensors: vibration 0..50 mm/s, temperature -40..150 °C
    t = time.time() - 60
    answer = gateway.xmlrpc(
        "mro.sensor.reading",
        "ingest",
        [
            ["P101-VIB-DE", t, 51.0],
            ["P101-VIB-DE", t + 1, -2.0],
            ["P101-TEMP-DE", t, -41.0],
            ["P101-TEMP-DE", t + 1, 1e9],
            ["P101-VIB-DE", t + 2, 4.2],
            ["P101-TEMP-DE", t + 2, -12.5],
        ],
    )
    assert answer["accepted"] == 2
    assert [r["reason"] for r in answer["rejected"]] == [
        "value 51 is above the sensor's physical maximum 50",
        "value -2 is below the sensor's physical minimum 0",
        "value -41 is below the sensor's physical minimum -40",
        "value 1000000000 is above the sensor's physical maximum 150",
    ]


def test_same_sensor_and_time_with_two_values_keeps_the_first_and_says_so(odoo, gateway):
    t = int(time.time()) - 60
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
    answer = gateway.xmlrpc(
        "mro.sensor.reading",
        "ingest",
        [
            ["P101-VIB-DE", t, 1.0],
            ["P101-VIB-DE", t, 9.0],
            ["P101-VIB-DE", f"{stamp}.1234561Z", 2.0],
            ["P101-VIB-DE", f"{stamp}.1234564Z", 8.0],  # the same microsecond once rounded
        ],
    )
    assert [r["index"] for r in answer["rejected"]] == [1, 3]
    assert "same sensor and time" in answer["rejected"][0]["reason"]
    assert "same microsecond" in answer["rejected"][1]["reason"]
    values = admin(odoo).xmlrpc("mro.sensor.reading", "search_read", [], fields=["value"], order="ts")
    assert [v["value"] for v in values] == [1.0, 2.0]  # the first of each, never one at random


def ingest_head(db: str, login_uid: int, key: str, items: int) -> bytes:
    """The beginning of an ingest call's body: its head and ``items`` readings."""
    call = xmlrpc.client.dumps(
        (db, login_uid, key, "mro.sensor.reading", "ingest", [[["P101-VIB-DE", 1.0, 1.0]] * items]),
        methodname="execute_kw",
    )
    return call[: call.rindex("</data></array></value>\n</data></array></value>")].encode()


def test_an_ingest_body_over_16_mib_is_answered_413_before_it_is_sent(odoo, gateway):
    size = 16 * 1024 * 1024 + 1
    head = ingest_head(odoo.db, gateway.uid, gateway.password, 200)
    connection = http.client.HTTPConnection("127.0.0.1", odoo.port, timeout=20)
    try:
        connection.putrequest("POST", "/xmlrpc/2/object")
        connection.putheader("Content-Type", "text/xml")
        connection.putheader("Content-Length", str(size))
        connection.endheaders(head)  # the rest never comes: Odoo must answer without it
        response = connection.getresponse()
        assert response.status == 413
        assert b"at most 16777216 bytes" in response.read()
    finally:
        connection.close()


def test_a_body_that_lies_about_its_length_is_cut_at_16_mib(odoo, gateway):
    """Chunked, no Content-Length: Odoo reads at most 16 MiB of it, then answers 413."""
    head = ingest_head(odoo.db, gateway.uid, gateway.password, 200)
    chunk = b"<value><array><data><value><string>P101-VIB-DE</string></value>" * 1024
    with socket.create_connection(("127.0.0.1", odoo.port), timeout=30) as sock:
        sock.sendall(
            b"POST /xmlrpc/2/object HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sent = 0
        try:
            for part in [head] + [chunk] * (17 * 1024 * 1024 // len(chunk) + 1):
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
                sent += len(part)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # Odoo hung up once it had read its limit
        answer = b""
        try:
            while chunk_ := sock.recv(65536):
                answer += chunk_
        except OSError:
            pass
    assert answer.startswith(b"HTTP/1.") and b" 413 " in answer.split(b"\r\n", 1)[0], answer[:200]
    assert sent > 16 * 1024 * 1024  # the limit was reached, not some other error
