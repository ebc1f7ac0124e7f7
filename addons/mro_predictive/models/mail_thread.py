from odoo import models


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    def _mro_post(self, body, **kwargs):
        """Post a message of the suite's own bookkeeping (a decision, a consumption, an alert's episode),
        authored by OdooBot, the system, whoever triggered it: the body says who did what, and the people who
        trigger the system's jobs need no e-mail address of their own for it to be written."""
        return self.message_post(body=body, author_id=self.env.ref("base.partner_root").id, **kwargs)
