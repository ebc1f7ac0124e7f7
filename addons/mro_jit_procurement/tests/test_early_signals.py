"""What the planner gathers beyond a confident RUL, as the plant simulation's policy uses it: the onset of a
machine's warning episode (from its health alerts, against the plant's own history of episodes) and the
vendor's expedite agreement (its delay and premium on the vendor list). Each is run by the people who use it."""

import base64
import io
from datetime import datetime, time, timedelta

import openpyxl

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from ..mro_planning import (
    ExpediteOption,
    NeedInputs,
    Policy,
    Signal,
    WarningHistory,
    lead_time_stats,
    plan_need,
    purchase_mode,
    residual_quantiles,
)
from .common import JitCase

#: Days from the onset of each past episode to the failure it ended in.
INTERVALS = (20, 25, 30, 35, 40, 45)


@tagged("post_install", "-at_install")
class TestOnsetWarnings(JitCase):
    """Six machines failed 20-45 days after an anomaly alert opened, none warned by a confident RUL; the pump
    (class A) has had an anomaly for five days and no RUL yet."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, mail_activity_automation_skip=True))
        cls.manager = new_test_user(cls.env, login="onset-mgr", groups="maintenance.group_equipment_manager")
        cls.technician = new_test_user(cls.env, login="onset-tech", groups="base.group_user")
        cls.today = fields.Date.context_today(cls.env["mro.jit.planner"])
        done = cls.env["maintenance.stage"].search([("done", "=", True)], limit=1)
        Alert = cls.env["mro.health.alert"]
        for i, interval in enumerate(INTERVALS):
            machine = cls.env["maintenance.equipment"].create({"name": f"History H-{i}", "mro_criticality": "B"})
            onset = cls.today - timedelta(days=200 - 20 * i)
            failed = onset + timedelta(days=interval)
            Alert.create(
                {
                    "name": f"{machine.name}: anomaly",
                    "equipment_id": machine.id,
                    "kind": "anomaly",
                    "state": "closed",
                    "opened_at": datetime.combine(onset, time(8)),
                    "last_seen": datetime.combine(failed - timedelta(days=1), time(8)),
                }
            )
            request = cls.env["maintenance.request"].create(
                {
                    "name": f"{machine.name} broke down",
                    "equipment_id": machine.id,
                    "maintenance_type": "corrective",
                    "request_date": failed,
                }
            )
            request.write({"stage_id": done.id})
            request.write({"close_date": failed})
        # The plant registered its machines a year and a half ago (an episode is trusted only a week after).
        machines = cls.env["maintenance.equipment"].search([("name", "like", "History H-")]) | cls.pump | cls.fan
        cls.env.cr.execute(
            "UPDATE maintenance_equipment SET create_date = create_date - interval '550 days' WHERE id = ANY(%s)",
            [machines.ids],
        )
        machines.invalidate_recordset(["create_date"])
        cls.alert = Alert.create(
            {
                "name": "Pump P-1: anomaly",
                "equipment_id": cls.pump.id,
                "kind": "anomaly",
                "opened_at": datetime.combine(cls.today - timedelta(days=5), time(8)),
                "last_seen": fields.Datetime.now(),
            }
        )

    def histories(self):
        """The scenario's renewals, none warned by a RUL, each warned by its anomaly ``INTERVALS`` days ahead,
        beside the renewals the database held before (none warned: no alert or prediction is on them); the
        machine-days since each equipment was registered."""
        equipments = self.env["maintenance.equipment"].search([("company_id", "in", (self.company.id, False))])
        exposure = float(sum(max((self.today - e.create_date.date()).days, 0) for e in equipments))
        before = self.env["maintenance.request"].search(
            [
                ("equipment_id", "in", equipments.ids),
                ("equipment_id.name", "not like", "History H-"),
                ("stage_id.done", "=", True),
                ("maintenance_type", "in", ("corrective", "preventive")),
            ]
        )
        self.assertFalse(self.env["mro.health.alert"].search_count([("equipment_id", "in", before.equipment_id.ids)]))
        self.assertFalse(self.env["mro.prediction"].search_count([("equipment_id", "in", before.equipment_id.ids)]))
        unwarned = [0.0] * len(before)
        rul = WarningHistory(unwarned + [0.0] * len(INTERVALS), exposure)
        early = WarningHistory(unwarned + [float(d) for d in INTERVALS], exposure)
        return rul, early

    def inputs(self, equipment, line, signals):
        """The policy's inputs as the scenario states them (see :meth:`histories`)."""
        rul, early = self.histories()
        seller = line.product_id.seller_ids[:1]
        lead = self.env["mro.lead.time"]._for(seller.partner_id, line.product_id, self.company, seller)
        return NeedInputs(
            self.today,
            equipment.mro_criticality,
            line.quantity,
            lead,
            signals,
            rul,
            early,
            None,
            plant_closed=self.Planner._closed_days(self.company.resource_calendar_id, self.today, {}),
            vendor_closed=set(),
        )

    def test_the_plants_history_is_read_from_its_alerts_and_repairs(self):
        records = self.Planner._warning_records(self.company, self.today)
        for got, expected in zip(records["histories"], self.histories(), strict=True):
            self.assertEqual(got.days.tolist(), expected.days.tolist())
            self.assertEqual(got.exposure_days, expected.exposure_days)
        self.assertEqual(sorted(records["pooled"][0]), [float(d) for d in INTERVALS])
        self.assertEqual(records["pooled"][1], [5.0])  # the pump's open episode, five days old
        self.assertEqual(records["episodes"][self.pump.id].onset, self.today - timedelta(days=5))

    def test_a_manager_plans_the_pump_from_its_anomaly_as_the_policy_does(self):
        onset = Signal("onset", residual_quantiles([float(d) for d in INTERVALS], 5.0, [5.0]))
        self.Planner.with_user(self.manager).action_plan_now()
        needs = self.needs(self.pump)
        policy = Policy()
        expected = {
            line.product_id: plan_need(self.inputs(self.pump, line, (onset,)), policy)
            for line in self.pump.mro_part_ids
        }
        planned = {product for product, d in expected.items() if d.action == "plan"}
        self.assertTrue(planned, "the anomaly warns early enough to plan a part")
        self.assertEqual(set(needs.product_id), planned)
        for need in needs:
            decision = expected[need.product_id]
            self.assertEqual(decision.signal, "onset")
            self.assertEqual(need.order_by_date, decision.order_by)
            self.assertIn(decision.reason, need.reason)
        self.assertFalse(self.needs(self.fan), "no warning on the fan")

    def test_an_onset_need_is_left_for_the_buyer(self):
        """No prediction stands behind a need planned from an onset, even where the ledger holds one for the
        machine (here published today, with no confident RUL on the equipment): auto-approval leaves it."""
        self.company.write({"mro_auto_approve": True, "mro_auto_approve_a": True, "mro_buyer_id": self.buyer.id})
        self.env["mro.prediction"].create(
            {"equipment_id": self.pump.id, "published_at": fields.Datetime.now(), "rul_days": 30.0}
        )
        orders = self.Planner.with_user(self.manager).action_plan_now() and self.needs(self.pump).purchase_id
        self.assertTrue(orders, "the scenario's onset need is late: ordered now")
        self.assertFalse(self.needs(self.pump).prediction_id)
        for order in orders:
            self.assertEqual(order.mro_approval, "review")
            self.assertIn("lines not planned from predictions", order.mro_approval_reason)

    def test_without_the_anomaly_nothing_is_planned_and_a_technician_cannot_plan(self):
        self.alert.write({"state": "closed", "last_seen": self.alert.opened_at})
        self.Planner.with_user(self.manager).action_plan_now()
        self.assertTrue(self.needs(self.pump), "closed today: the episode lasts its quiet days")
        self.needs(self.pump).unlink()
        self.alert.write({"opened_at": self.alert.opened_at - timedelta(days=30)})
        self.alert.write({"last_seen": self.alert.opened_at})
        self.Planner.with_user(self.manager).action_plan_now()
        self.assertFalse(self.needs(self.pump), "the episode ended a month ago: no onset warning")
        with self.assertRaises(AccessError):
            self.Planner.with_user(self.technician).action_plan_now()

    def test_an_episode_of_a_machine_just_registered_is_not_trusted_yet(self):
        """The pump registered three days ago: its anomaly may have begun long before; it still warns (onset),
        but its length teaches the plant nothing."""
        self.env.cr.execute(
            "UPDATE maintenance_equipment SET create_date = now() - interval '3 days' WHERE id = %s", [self.pump.id]
        )
        self.pump.invalidate_recordset(["create_date"])
        records = self.Planner._warning_records(self.company, self.today)
        self.assertEqual(records["episodes"][self.pump.id].onset, self.today - timedelta(days=5))
        self.assertEqual(records["pooled"][1], [])

    def test_days_are_the_plants_own(self):
        """A plant in Auckland: an anomaly first seen at 20:00 UTC yesterday began this morning there (read as the
        maintenance manager who plans)."""
        planner = self.Planner.with_user(self.manager).with_context(tz="Pacific/Auckland")
        today = fields.Date.context_today(planner)
        opened = datetime.combine(today, time(8)) - timedelta(hours=13)  # 08:00 in Auckland (NZDT: UTC+13)
        self.alert.write({"opened_at": opened})
        self.assertEqual(opened.date(), today - timedelta(days=1))
        self.assertEqual(planner._warning_records(self.company, today)["episodes"][self.pump.id].onset, today)
        utc_planner = self.Planner.with_user(self.manager).with_context(tz="UTC")
        onset = utc_planner._warning_records(self.company, opened.date())["episodes"][self.pump.id].onset
        self.assertEqual(onset, opened.date())

    def test_after_the_repair_the_next_episode_starts_afresh(self):
        self.Planner.with_user(self.manager).action_plan_now()
        self.assertTrue(self.needs(self.pump))
        repair = self.env["maintenance.request"].create(
            {"name": "Pump repaired", "equipment_id": self.pump.id, "maintenance_type": "corrective"}
        )
        repair.write({"stage_id": self.env["maintenance.stage"].search([("done", "=", True)], limit=1).id})
        records = self.Planner._warning_records(self.company, self.today)
        self.assertIsNone(records["episodes"][self.pump.id].onset, "the repair ended the episode")
        self.assertIn(5.0, records["pooled"][0], "and taught the plant one more interval")
        # the ledger recorded the failure as a miss (no prediction was open): no prediction a need could cite
        self.assertTrue(self.env["mro.prediction"].search([("request_id", "=", repair.id), ("outcome", "=", "miss")]))
        self.assertEqual(self.Planner._latest_predictions(self.pump), {})


@tagged("post_install", "-at_install")
class TestExpedite(JitCase):
    """The fan (class B) will fail in about three days; its bearing's vendor quotes five days, or one day
    expedited at 20 % more."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.technician = new_test_user(cls.env, login="exp-tech", groups="base.group_user")
        cls.purchase_manager = new_test_user(cls.env, login="exp-pm", groups="purchase.group_purchase_manager")
        cls.storekeeper = new_test_user(cls.env, login="exp-store", groups="stock.group_stock_user")
        cls.seller = cls.bearing.seller_ids

    def agree(self, user=None, delay=1.0, premium=20.0):
        self.seller.with_user(user or self.purchase_manager).write(
            {"mro_expedite_delay": delay, "mro_expedite_premium": premium}
        )

    def test_a_purchase_manager_records_the_agreement_and_a_buyers_late_need_is_expedited(self):
        self.agree()
        self.predict(self.fan, rul=3, lower=2, upper=4)
        today = fields.Date.context_today(self.Planner)
        cache = {"predictions": {}}
        inputs, decision, _seller = self.Planner._decide(
            self.fan, self.fan.mro_part_ids, None, self.company, today, Policy(), cache
        )
        option = ExpediteOption(lead_time_stats([], prior_mean=1.0), 0.2)
        self.assertEqual(inputs.expedite, option)
        self.assertTrue(decision.late, decision.reason)
        self.assertEqual(purchase_mode(decision, "B", Policy(), option).mode, "expedite")
        self.Planner.with_user(self.buyer).action_plan_now()
        need = self.needs(self.fan)
        self.assertTrue(need.late, need.reason)
        self.assertEqual((need.state, need.expedited, need.emergency), ("ordered", True, False))
        self.assertIn("expedited", need.reason)
        line = need.purchase_line_id
        self.assertTrue(line.mro_expedite)
        self.assertAlmostEqual(line.price_unit, 48.0)
        self.assertEqual(line.date_planned, datetime.combine(today + timedelta(days=1), time(12)))

    def test_an_expedited_line_stays_apart_from_a_normal_one(self):
        self.agree()
        self.predict(self.fan, rul=3, lower=2, upper=4)
        self.predict(self.pump, rul=20, lower=16, upper=26)  # class A: due this week, in time at the normal delay
        orders = self.plan()
        self.assertFalse(self.needs(self.pump, self.bearing).filtered("late"))
        lines = orders.order_line.filtered(lambda ln: ln.product_id == self.bearing)
        fast = lines.filtered("mro_expedite")
        self.assertEqual(len(fast), 1)
        self.assertEqual(fast.product_qty, 1)  # the fan's bearing only
        self.assertTrue(all(n.expedited for n in self.Need.search([("purchase_line_id", "=", fast.id)])))
        for normal in lines - fast:
            self.assertAlmostEqual(normal.price_unit, 40.0)

    def test_the_agreed_premium_passes_auto_approval_and_no_more(self):
        self.company.write({"mro_auto_approve": True, "mro_auto_approve_limit": 500.0, "mro_buyer_id": self.buyer.id})
        self.agree()
        self.predict(self.fan, rul=3, lower=2, upper=4)
        order = self.plan().filtered(lambda o: o.partner_id == self.skf)
        self.assertEqual(order.mro_approval, "auto", order.mro_approval_reason)
        self.assertEqual(order.state, "purchase")
        # Had the agreement said 10 %, a line at 48 would be above the price the policy accepts.
        self.agree(premium=10.0)
        approve, reasons = order._mro_approval_decision()
        self.assertFalse(approve)
        self.assertIn("above the vendor's listed", "; ".join(reasons))

    def test_an_expedited_receipt_does_not_teach_the_normal_lead_time(self):
        self.agree()
        self.predict(self.fan, rul=3, lower=2, upper=4)
        order = self.plan().filtered(lambda o: o.partner_id == self.skf)
        order.with_user(self.buyer).button_confirm()
        receipt = order.picking_ids.with_user(self.storekeeper)
        receipt.move_ids.quantity = 1
        receipt.move_ids.picked = True
        receipt.button_validate()
        self.assertEqual(receipt.state, "done")
        samples = self.env["mro.lead.time"]._receipt_samples(self.company)
        self.assertNotIn((self.skf.id, self.bearing.id), samples)
        # the same receipt on a normal line would: the line's flag is what keeps it out
        order.order_line.mro_expedite = False
        self.assertIn((self.skf.id, self.bearing.id), self.env["mro.lead.time"]._receipt_samples(self.company))

    def test_the_plan_export_and_the_kpis_show_the_expedited_purchase(self):
        self.agree()
        self.predict(self.fan, rul=3, lower=2, upper=4)
        order = self.plan().filtered(lambda o: o.partner_id == self.skf)
        order.with_user(self.buyer).button_confirm()
        need = self.needs(self.fan)
        action = need.action_export_xlsx()
        attachment = self.env["ir.attachment"].browse(int(action["url"].split("/")[3].split("?")[0]))
        rows = list(
            openpyxl.load_workbook(io.BytesIO(base64.b64decode(attachment.datas))).active.iter_rows(values_only=True)
        )
        self.assertEqual(dict(zip(rows[0], rows[1], strict=True))["Expedited"], "yes")
        self.env["mro.jit.kpi"]._refresh(self.company)
        month = self.env["mro.jit.kpi"].search([("company_id", "=", self.company.id)], order="month desc", limit=1)
        self.assertEqual((month.expedited_lines, month.emergency_orders), (1, 0))
        self.assertAlmostEqual(month.expedited_spend, 48.0)

    def test_who_may_not_set_an_agreement_and_what_is_refused(self):
        for user in (self.buyer, self.technician, self.storekeeper):
            with self.assertRaises(AccessError):
                self.agree(user)
        with self.assertRaises(ValidationError):
            self.agree(delay=-1.0)
        with self.assertRaises(ValidationError):
            self.agree(premium=-5.0)
        with self.assertRaises(ValidationError):
            self.agree(delay=5.0)  # not faster than the normal five days

    def test_without_an_agreement_a_late_need_is_not_expedited(self):
        self.predict(self.fan, rul=3, lower=2, upper=4)
        self.plan()
        need = self.needs(self.fan)
        self.assertFalse(need.expedited)
        self.assertFalse(need.purchase_line_id.mro_expedite)
        self.assertAlmostEqual(need.purchase_line_id.price_unit, 40.0)
