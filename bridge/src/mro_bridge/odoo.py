"""The bridge's only contact with Odoo, behind one small interface (Odoo 19 moves to a JSON API).

:class:`XmlRpcOdoo` calls ``mro.sensor.reading.ingest_packed`` (or ``ingest``, with an addon that predates
it) and ``mro.sensor.gateway.get_bridge_config`` over XML-RPC with an API key. Failures are sorted into
:class:`TransientError` (Odoo down or restarting, network, timeouts, HTTP 5xx: retry later, keep the
readings), :class:`PermanentError` (wrong credentials, access refused: the operator must act; the readings
stay in the spool meanwhile) and its kind :class:`BatchError` (Odoo failed the call as a whole, or it is too
large to send: what it carries may be the cause, and the pipeline splits it to find out).
"""

from __future__ import annotations

import abc
import array
import asyncio
import http.client
import logging
import sys
import threading
import urllib.parse
import xmlrpc.client
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mro_bridge import __version__

_log = logging.getLogger(__name__)


class OdooError(Exception):
    """Odoo could not take the call."""


class TransientError(OdooError):
    """Try again later (Odoo or the network is down, or busy)."""


class PermanentError(OdooError):
    """Retrying will not help until someone fixes the configuration or Odoo."""


class BatchError(PermanentError):
    """Odoo failed this call as a whole (an error inside Odoo, not access), or its body is larger than Odoo
    takes: retrying the same call will not help, a smaller one may."""


#: Largest request body the bridge sends (bytes): the addon's limit for an ingest call (a larger one is
#: answered 413 unread). A larger call is split by the pipeline before it is sent.
MAX_REQUEST_BYTES = 16 * 1024 * 1024
#: An array type code of 4-byte unsigned integers (the packed form's sensor indexes).
_UINT32 = next(code for code in "IL" if array.array(code).itemsize == 4)


def ingest_request(database: str, uid: int, key: str, items: list[list[Any]]) -> bytes:
    """The XML-RPC body of ``execute_kw(database, uid, key, "mro.sensor.reading", "ingest", [items])``, byte
    for byte what ``xmlrpc.client.dumps`` writes, in half its time (7.8 against 15 ms for 5,000 readings here).
    Items are ``[code, time, value]`` with a text code and numbers (an int is written as a double, which is
    what the ingest API reads it as)."""
    esc = xmlrpc.client.escape
    head = xmlrpc.client.dumps(
        (database, uid, key, "mro.sensor.reading", "ingest", [[]]), "execute_kw", allow_none=True
    )
    # The empty list's "<data>\n</data>" is where the items go.
    before, after = head.rsplit("<data>\n</data>", 1)
    codes: dict[str, str] = {}
    out = [before, "<data>\n"]
    for code, ts, value in items:
        tag = codes.get(code)
        if tag is None:
            tag = codes[code] = f"<value><array><data>\n<value><string>{esc(code)}</string></value>\n<value><double>"
        out.append(
            f"{tag}{float(ts)!r}</double></value>\n<value><double>{float(value)!r}</double></value>\n</data></array></value>\n"
        )
    out += ["</data>", after]
    return "".join(out).encode("utf-8", "xmlcharrefreplace")


def packed_ingest_request(database: str, uid: int, key: str, items: list[list[Any]]) -> bytes:
    """The XML-RPC body of ``execute_kw(..., "mro.sensor.reading", "ingest_packed", [batch])``: the same
    readings as :func:`ingest_request`, in the addon's packed form (each code once; per reading, the index of
    its code as a little-endian uint32, its time and its value as little-endian float64; each column as
    base64): 27 bytes a reading on the wire instead of about 170, and three values for Odoo to decode instead
    of four elements a reading. Items are ``[code, time, value]`` with a text code and numbers."""
    codes, times, values = zip(*items, strict=True) if items else ((), (), ())
    index = {code: i for i, code in enumerate(dict.fromkeys(codes))}
    columns = [array.array(_UINT32, map(index.__getitem__, codes)), array.array("d", times), array.array("d", values)]
    if sys.byteorder != "little":
        for column in columns:
            column.byteswap()
    sensor, time_, value = (xmlrpc.client.Binary(column.tobytes()) for column in columns)
    batch = {"codes": list(index), "sensor": sensor, "time": time_, "value": value}
    params = (database, uid, key, "mro.sensor.reading", "ingest_packed", [batch])
    return xmlrpc.client.dumps(params, "execute_kw", allow_none=True).encode("utf-8", "xmlcharrefreplace")


class OdooTransport(abc.ABC):
    """What the bridge needs from Odoo."""

    @abc.abstractmethod
    async def ingest(self, items: list[list[Any]]) -> dict:
        """Send ``[[code, epoch seconds, value], ...]``; returns Odoo's answer
        ``{"accepted": n, "duplicates": n, "rejected": [{"index": i, "reason": str}]}``."""

    @abc.abstractmethod
    async def get_bridge_config(self) -> dict:
        """The gateway's tag list: ``{"gateway": {...}, "sensors": [{...}]}``."""

    @abc.abstractmethod
    async def check(self) -> str:
        """Log in and say who and where (``mro-bridge check``)."""


class _TooLarge(Exception):
    pass


class _Timeout:
    """An XML-RPC transport whose connections time out after ``timeout`` seconds, and which sends no body
    larger than ``max_bytes``."""

    def __init__(self, timeout: float, max_bytes: int = MAX_REQUEST_BYTES):
        super().__init__()
        self._timeout = timeout
        self._max_bytes = max_bytes

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn

    def request(self, host, handler, request_body, verbose=False):
        if len(request_body) > self._max_bytes:
            raise _TooLarge(f"the call is {len(request_body)} bytes, more than the {self._max_bytes} Odoo takes")
        return super().request(host, handler, request_body, verbose)


class _TimeoutTransport(_Timeout, xmlrpc.client.Transport):
    pass


class _TimeoutSafeTransport(_Timeout, xmlrpc.client.SafeTransport):
    pass


class XmlRpcOdoo(OdooTransport):
    """XML-RPC to ``url`` (e.g. http://odoo:8069), database ``database``, login ``user`` and an API key."""

    def __init__(
        self,
        url: str,
        database: str,
        user: str,
        api_key: str,
        timeout: float = 30.0,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        in_flight: int = 1,
    ):
        self.url, self.database, self.user, self._key = url.rstrip("/"), database, user, api_key
        self.timeout = timeout
        self.max_request_bytes = max_request_bytes
        self._uid: int | None = None
        #: Send ingest calls in the packed form (``ingest_packed``); turned off, once, by an Odoo whose addon
        #: predates it (the list form then, which every version takes).
        self.packed = True
        # ``in_flight`` workers: the pipeline sends that many calls at once (on disjoint sensors), never more.
        self._pool = ThreadPoolExecutor(max_workers=max(1, in_flight), thread_name_prefix="odoo")
        self._local = threading.local()

    def _new_transport(self) -> xmlrpc.client.Transport:
        kind = _TimeoutSafeTransport if self.url.startswith("https") else _TimeoutTransport
        return kind(self.timeout, self.max_request_bytes)

    def _proxy(self, endpoint: str) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(
            f"{self.url}/xmlrpc/2/{endpoint}", transport=self._new_transport(), allow_none=True
        )

    def _post(self, endpoint: str, body: bytes) -> Any:
        """POST an XML-RPC request ``body`` to /xmlrpc/2/``endpoint``; its answer, as ServerProxy returns it.
        Each of the pool's threads keeps its transport (and so its HTTP connection, when Odoo keeps it open)."""
        transport = getattr(self._local, "transport", None)
        if transport is None:
            transport = self._local.transport = self._new_transport()
        parts = urllib.parse.urlsplit(f"{self.url}/xmlrpc/2/{endpoint}")
        try:
            answer = transport.request(parts.netloc, parts.path, body)
        except BaseException:
            self._local.transport = None  # a connection in an unknown state is not reused
            transport.close()
            raise
        return answer[0] if len(answer) == 1 else answer

    def _login(self) -> int:
        if self._uid is None:
            uid = self._proxy("common").authenticate(self.database, self.user, self._key, {})
            if not uid:
                raise PermanentError(
                    f"Odoo refused the login {self.user!r} on database {self.database!r}: check [odoo] user and api_key"
                )
            self._uid = uid
        return self._uid

    def _execute(self, model: str, method: str, *args: Any) -> Any:
        try:
            uid = self._login()
            if model == "mro.sensor.reading" and method == "ingest":
                return self._ingest(uid, args[0])
            params = (self.database, uid, self._key, model, method, list(args))
            body = xmlrpc.client.dumps(params, "execute_kw", allow_none=True).encode("utf-8", "xmlcharrefreplace")
            return self._post("object", body)
        except _TooLarge as exc:
            raise BatchError(str(exc)) from exc
        except (ConnectionError, TimeoutError, http.client.HTTPException, OSError) as exc:
            raise TransientError(f"Odoo at {self.url} is not reachable: {exc}") from exc
        except xmlrpc.client.ProtocolError as exc:
            if exc.errcode >= 500 or exc.errcode in (404, 429):
                # 404 while Odoo restarts (registry not loaded), 429 / 5xx: busy or down.
                raise TransientError(f"Odoo answered HTTP {exc.errcode} {exc.errmsg}") from exc
            if exc.errcode == 413:
                raise BatchError(f"Odoo answered HTTP 413 {exc.errmsg}: the call is too large") from exc
            raise PermanentError(f"Odoo answered HTTP {exc.errcode} {exc.errmsg}") from exc
        except xmlrpc.client.Fault as exc:
            text = str(exc.faultString)
            last = text.strip().splitlines()[-1] if text.strip() else text
            # /xmlrpc/2 fault codes: 3 access denied (login), 4 access error (rights)
            access = exc.faultCode in (3, 4)
            if access or any(word in text for word in ("AccessDenied", "AccessError", "Access Denied")):
                self._uid = None
                raise PermanentError(f"Odoo refused access: {last}") from exc
            if any(word in text for word in ("RegistryError", "Cannot get registry", "OperationalError",
                                             "SerializationFailure", "could not serialize")):  # fmt: skip
                raise TransientError(f"Odoo is busy or restarting: {last}") from exc
            raise BatchError(f"Odoo failed: {last}") from exc

    def _ingest(self, uid: int, items: list[list[Any]]) -> Any:
        """One ingest call: packed, or as a list where Odoo does not know the packed form (an older addon:
        it answers that the method does not exist, having stored nothing)."""
        try:
            body = packed_ingest_request(self.database, uid, self._key, items) if self.packed else None
        except (TypeError, ValueError, OverflowError):
            body = None  # an item that is not [text, number, number]: as a list, Odoo says which one
        if body is not None:
            try:
                return self._post("object", body)
            except xmlrpc.client.Fault as exc:
                if "ingest_packed" not in str(exc.faultString) or "does not exist" not in str(exc.faultString):
                    raise
                self.packed = False
                _log.warning(
                    "Odoo's mro_sensor_bridge predates packed ingest calls: sending readings as lists (upgrade the "
                    "addon for smaller, faster calls)",
                    extra={"event": "ingest_unpacked"},
                )
        return self._post("object", ingest_request(self.database, uid, self._key, items))

    async def _call(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def ingest(self, items: list[list[Any]]) -> dict:
        return await self._call(self._execute, "mro.sensor.reading", "ingest", items)

    async def get_bridge_config(self) -> dict:
        return await self._call(
            lambda: self._execute("mro.sensor.gateway", "get_bridge_config", [], f"mro-bridge {__version__}")
        )

    async def check(self) -> str:
        def probe() -> str:
            try:
                version = self._proxy("common").version()
            except (OSError, http.client.HTTPException, xmlrpc.client.Error) as exc:
                raise TransientError(f"Odoo at {self.url} is not reachable: {exc}") from exc
            uid = self._login()
            return f"Odoo {version.get('server_version', '?')} at {self.url}, database {self.database}, user id {uid}"

        return await self._call(probe)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
