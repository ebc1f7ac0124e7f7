from odoo import api, fields, models, tools
from odoo.tools import SQL

from ..mro_planning.wrench import wrench_pct


class MroWrenchTimeReport(models.Model):
    """Wrench time per month, technician and team, from the timed intervals of maintenance requests: hours
    working over hours working or waiting (paused, for whatever reason), and the hours waited for parts."""

    _name = "mro.wrench.time.report"
    _description = "Wrench time"
    _auto = False
    _order = "month desc"
    _rec_name = "month"
    _depends = {
        "mro.work.interval": ["start", "stop", "kind", "pause_reason", "hours", "user_id", "team_id", "company_id"]
    }

    month = fields.Date(readonly=True)
    user_id = fields.Many2one("res.users", "Technician", readonly=True)
    team_id = fields.Many2one("maintenance.team", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    work_hours = fields.Float("Hours working", readonly=True, digits=(16, 1), aggregator="sum")
    wait_hours = fields.Float("Hours waiting", readonly=True, digits=(16, 1), aggregator="sum")
    parts_wait_hours = fields.Float("Hours waiting for parts", readonly=True, digits=(16, 1), aggregator="sum")
    wrench_time = fields.Float(
        "Wrench time (%)", readonly=True, digits=(16, 1), aggregator="avg",
        help="Hours working / (hours working + hours waiting); in groups, computed from their sums.",
    )  # fmt: skip

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """CREATE OR REPLACE VIEW %s AS (
                    SELECT min(i.id) AS id, date_trunc('month', i.start)::date AS month, i.user_id, i.team_id,
                           i.company_id,
                           sum(CASE WHEN i.kind = 'work' THEN i.hours ELSE 0 END) AS work_hours,
                           sum(CASE WHEN i.kind = 'pause' THEN i.hours ELSE 0 END) AS wait_hours,
                           sum(CASE WHEN i.kind = 'pause' AND i.pause_reason = 'parts' THEN i.hours ELSE 0 END)
                               AS parts_wait_hours,
                           100.0 * sum(CASE WHEN i.kind = 'work' THEN i.hours ELSE 0 END)
                               / NULLIF(sum(i.hours), 0) AS wrench_time
                      FROM mro_work_interval i
                     WHERE i.stop IS NOT NULL
                     GROUP BY date_trunc('month', i.start), i.user_id, i.team_id, i.company_id)""",
                SQL.identifier(self._table),
            )
        )

    @api.model
    def read_group(self, domain, fields, groupby, offset=0, limit=None, orderby=False, lazy=True):
        """Wrench time of a group is its hours working over its hours, not the average of its rows' ratios."""
        wanted = [f for f in fields if f.split(":")[0] not in ("wrench_time",)]
        for name in ("work_hours", "wait_hours"):
            if name not in wanted:
                wanted.append(name)
        groups = super().read_group(domain, wanted, groupby, offset=offset, limit=limit, orderby=orderby, lazy=lazy)
        for group in groups:
            group["wrench_time"] = wrench_pct(group.get("work_hours") or 0.0, group.get("wait_hours") or 0.0)
        return groups
