import threading
import xmlrpc.client

from werkzeug.exceptions import RequestEntityTooLarge

from odoo.addons.base.controllers.rpc import RPC, _check_request, dumps
from odoo.exceptions import UserError
from odoo.http import Response, borrow_request, dispatch_rpc, request, route
from odoo.modules.registry import Registry
from odoo.service import model as model_service
from odoo.service import security
from odoo.tools.translate import LazyTranslate

from ..mro_ingestion.fast_xmlrpc import TooManyReadings, parse_call_head, parse_ingest_head, parse_ingest_items

_lt = LazyTranslate(__name__)

#: Largest body (bytes) of an ingest call over XML-RPC; a larger one is answered 413 before it is read.
#: About 95,000 readings with 11-character codes and millisecond timestamps (mro-bridge keeps its calls
#: below it, and below the batch limit). Every other XML-RPC call keeps Odoo's own limit.
INGEST_MAX_BODY = 16 * 1024 * 1024
#: Bytes read first to tell an ingest call from any other: its head (database, user, key, model,
#: method) takes a few hundred.
_PEEK = 4096


class _BodyTooLarge(Exception):
    pass


class IngestRPC(RPC):
    """XML-RPC endpoint with a fast, guarded path for ``mro.sensor.reading.ingest`` calls.

    An ingest call's body is limited to ``INGEST_MAX_BODY`` (413 beyond, unread); the caller is
    authenticated from the call's head before a single reading is decoded; readings are decoded by
    the fast decoder and never past the batch limit. A packed call (``ingest_packed``) is authenticated
    from its head the same way before its columns go through the standard decoder. Every other call,
    and an ingest call whose head is outside the fast decoder's narrow shape, goes through Odoo's
    standard decoder. Active where Odoo routes with this database's controllers (one database, or a
    ``--db-filter`` that selects it).
    """

    @route()
    def xmlrpc_1(self, service):
        try:
            return super().xmlrpc_1(service)
        except _BodyTooLarge:
            return _too_large()

    @route()
    def xmlrpc_2(self, service):
        try:
            return super().xmlrpc_2(service)
        except _BodyTooLarge:
            return _too_large()

    def _xmlrpc(self, service):
        if service != "object":
            return super()._xmlrpc(service)
        stream = _body_stream()
        if stream is None:  # not werkzeug's request underneath: Odoo's path, unchanged
            return super()._xmlrpc(service)
        data = _read(stream, _PEEK)
        if b"mro.sensor.reading" not in data or b"ingest" not in data:
            return self._standard(service, data + stream.read())
        if (request.httprequest.content_length or 0) > INGEST_MAX_BODY:
            raise _BodyTooLarge
        data += _read(stream, INGEST_MAX_BODY + 1 - len(data))
        if len(data) > INGEST_MAX_BODY:
            raise _BodyTooLarge
        head = parse_ingest_head(data)
        if head is not None:
            return dumps((self._ingest(data, *head),))
        packed = parse_call_head(data, "ingest_packed")
        if packed is not None:
            return dumps((self._ingest_packed(data, packed),))
        return self._standard(service, data)

    def _standard(self, service, data):
        """What RPC._xmlrpc does, on a body already read."""
        _check_request()
        params, method = xmlrpc.client.loads(data, use_datetime=True)
        return dumps((dispatch_rpc(service, method, params),))

    def _ingest(self, data, params, pos):
        """Authenticate, decode the readings (at most the batch limit), call ingest: as
        odoo.service.model.dispatch does, with the readings decoded only once the caller is known."""

        def decode(registry):
            limit = registry["mro.sensor.reading"]._ingest_max_batch
            try:
                decoded = parse_ingest_items(data, pos, limit)
            except TooManyReadings:
                raise UserError(
                    _lt("ingest() takes at most %(limit)s readings per call, got more; split the batch.", limit=limit)
                ) from None
            if decoded is None:
                # Authenticated, and at most INGEST_MAX_BODY: the standard decoder may read it all.
                return xmlrpc.client.loads(data, use_datetime=True)[0][5:]
            readings, empty_kwargs = decoded
            return ([readings], {}) if empty_kwargs else ([readings],)

        return self._authenticated_call(params, decode)

    def _ingest_packed(self, data, params):
        """``ingest_packed``: its columns go through the standard decoder, but only once the caller is known
        (the body is at most INGEST_MAX_BODY)."""
        return self._authenticated_call(params, lambda registry: xmlrpc.client.loads(data, use_datetime=True)[0][5:])

    def _authenticated_call(self, params, decode):
        """Authenticate the caller of ``params`` (database, user, key, model, method), then decode the call's
        arguments with ``decode(registry)`` and run it: as odoo.service.model.dispatch does, with nothing of the
        batch decoded before the caller is known."""
        db, uid, password, model, method = params[0], int(params[1]), params[2], params[3], params[4]
        _check_request()
        with borrow_request():
            threading.current_thread().uid = None
            threading.current_thread().dbname = None
            security.check(db, uid, password)  # AccessDenied before any reading is decoded
            registry = Registry(db)
            args = decode(registry)
            threading.current_thread().dbname = db
            threading.current_thread().uid = uid
            registry = registry.check_signaling()
            with registry.manage_changes():
                return model_service.execute_kw(db, uid, model, method, *args)


def _body_stream():
    """The request body's stream (werkzeug's, limited to the Content-Length), or None."""
    # Odoo's HTTPRequest wraps werkzeug's request without exposing its stream: peeking at a body's head
    # without reading it all needs the wrapped request.
    wrapped = getattr(request.httprequest, "_HTTPRequest__wrapped", None)
    return getattr(wrapped, "stream", None)


def _read(stream, size):
    """Up to ``size`` bytes of ``stream`` (fewer only at its end)."""
    chunks, left = [], size
    while left > 0:
        chunk = stream.read(min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _too_large():
    error = RequestEntityTooLarge(f"An ingest call may carry at most {INGEST_MAX_BODY} bytes; split the batch.")
    return Response(error.description, status=error.code, mimetype="text/plain", headers={"Connection": "close"})
