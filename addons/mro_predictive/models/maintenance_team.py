from odoo import fields, models


class MaintenanceTeam(models.Model):
    _inherit = "maintenance.team"

    mro_resource_calendar_id = fields.Many2one(
        "resource.calendar",
        string="Working hours",
        help="When this team works; predictive requests are scheduled in its last working slot before the "
        "predicted failure, skipping its leaves (e.g. a plant shutdown). Empty: the company's working hours.",
    )

    def _mro_calendar(self, company):
        return self.mro_resource_calendar_id or company.resource_calendar_id
