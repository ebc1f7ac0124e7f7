import base64
import io
from datetime import date, datetime, time

from odoo import api, models
from odoo.tools import format_date


class MroJitExport(models.AbstractModel):
    """The spare-parts plan as a workbook."""

    _name = "mro.jit.export"
    _description = "Just-in-time spare-parts plan export"

    @api.model
    def _export_xlsx(self, needs):
        """The spare-parts plan as an XLSX attachment (xlsxwriter): one row per need."""
        import xlsxwriter

        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True, "default_date_format": "yyyy-mm-dd"})
        sheet = book.add_worksheet(self.env._("Spare-parts plan"))
        bold = book.add_format({"bold": True})
        _ = self.env._
        headers = [
            _("Equipment"), _("Criticality"), _("Part"), _("Quantity"), _("Vendor"), _("Lead time (d)"),
            _("Lead time std (d)"), _("Predicted failure"), _("Order by"), _("State"), _("Purchase"),
            _("Emergency"), _("Expedited"), _("Value"), _("Reason"),
        ]  # fmt: skip
        sheet.write_row(0, 0, headers, bold)
        states = dict(self.env["mro.part.need"]._fields["state"].selection)
        for row, need in enumerate(needs, start=1):
            failure = need.predicted_failure_date
            sheet.write_row(
                row,
                0,
                [
                    need.equipment_id.display_name,
                    need.criticality or "",
                    need.product_id.display_name,
                    need.quantity,
                    need.partner_id.display_name or "",
                    round(need.lead_mean, 1),
                    round(need.lead_std, 1),
                ],
            )
            if failure:
                sheet.write_datetime(row, 7, failure)
            if need.order_by_date:
                sheet.write_datetime(row, 8, datetime.combine(need.order_by_date, time.min))
            sheet.write_row(
                row,
                9,
                [states[need.state], need.purchase_id.name or "", "yes" if need.emergency else "",
                 "yes" if need.expedited else "", need.value, need.reason or ""],
            )  # fmt: skip
        sheet.set_column(0, 0, 24)
        sheet.set_column(2, 2, 28)
        sheet.set_column(7, 8, 12)
        sheet.set_column(14, 14, 80)
        book.close()
        name = f"spare-parts-plan-{format_date(self.env, date.today(), date_format='yyyy-MM-dd')}.xlsx"
        return self.env["ir.attachment"].create(
            {
                "name": name,
                "datas": base64.b64encode(buffer.getvalue()),
                "mimetype": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "res_model": "mro.part.need",
            }
        )
