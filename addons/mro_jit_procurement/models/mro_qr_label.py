import base64
import io

from odoo import api, models


class MroQrLabel(models.AbstractModel):
    """QR codes for printable labels: a part's opens "Take parts" for it, an equipment's opens its form, in
    Odoo's web client (on a phone too)."""

    _name = "mro.qr.label"
    _description = "QR labels for equipment and spare parts"

    @api.model
    def _url(self, record):
        """The URL a label's QR code holds: for a spare part, the "Take parts" screen for it (scanned with any
        phone's camera, it opens there after login); for anything else, the record's form in the web client."""
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "").rstrip("/")
        if record._name == "product.product":
            return f"{base}/odoo/mro-take-parts?product_id={record.id}"
        return f"{base}/odoo/{record._name}/{record.id}"

    @api.model
    def _png(self, payload):
        """A QR code of ``payload`` as PNG bytes (qrcode, error correction M)."""
        import qrcode

        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
        code.add_data(payload)
        code.make(fit=True)
        buffer = io.BytesIO()
        code.make_image().save(buffer, format="PNG")
        return buffer.getvalue()

    @api.model
    def _data_uri(self, record):
        return "data:image/png;base64," + base64.b64encode(self._png(self._url(record))).decode()
