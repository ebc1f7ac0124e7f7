from odoo.addons.base.controllers.rpc import RPC, _check_request, dumps
from odoo.http import dispatch_rpc, request

from ..ingestion.fast_xmlrpc import parse_ingest_call


class IngestRPC(RPC):
    """XML-RPC endpoint with a fast decoder for ``mro.sensor.reading.ingest`` calls.

    Every other call, and any ingest call outside the decoder's narrow shape, goes through
    Odoo's standard decoder unchanged. Active where Odoo routes with this database's
    controllers (one database, or a ``--db-filter`` that selects it).
    """

    def _xmlrpc(self, service):
        if service == "object":
            params = parse_ingest_call(request.httprequest.get_data())
            if params is not None:
                _check_request()
                return dumps((dispatch_rpc(service, "execute_kw", params),))
        return super()._xmlrpc(service)
