"""The addon's planner makes the pure policy's decisions (the ones the plant simulation measures): a small plant is
loaded into Odoo and planned, and the same inputs, built here from what the scenario states, go to the pure
functions directly; needs, order-by dates, states, quantities and orderpoints must be the same."""

from datetime import datetime, time

import numpy as np

from odoo import fields
from odoo.tests import tagged

from ..mro_planning import (
    PROBS,
    BufferInputs,
    BufferUser,
    NeedInputs,
    Policy,
    Signal,
    WarningHistory,
    cover_need,
    free_stock,
    orderpoint_levels,
    part_buffer,
    plan_need,
    purchase_mode,
)
from .common import JitCase


@tagged("post_install", "-at_install")
class TestPlannerPolicy(JitCase):
    """Pump (A: 2 bearings, a seal), fan (B: a bearing), compressor (B: a seal) and conveyor (C: a bearing); one
    bearing in stock; each with a prediction of its own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.compressor = cls.env["maintenance.equipment"].create({"name": "Compressor K-1", "mro_criticality": "B"})
        cls.conveyor = cls.env["maintenance.equipment"].create({"name": "Conveyor C-1", "mro_criticality": "C"})
        cls.env["mro.equipment.part"].create(
            [
                {"equipment_id": cls.compressor.id, "product_id": cls.seal.id, "quantity": 1},
                {"equipment_id": cls.conveyor.id, "product_id": cls.bearing.id, "quantity": 1},
            ]
        )
        cls.equipments = cls.pump | cls.fan | cls.compressor | cls.conveyor

    def setUp(self):
        super().setUp()
        self.today = fields.Date.context_today(self.Planner)
        self.put_in_stock(self.bearing, 1)
        self.predict(self.pump, rul=12)
        self.predict(self.fan, rul=40)
        self.predict(self.compressor, rul=6, lower=4, upper=8)
        self.predict(self.conveyor, rul=5)

    # ------------------------------------------------------------------ the inputs, as the scenario states them
    def policy(self):
        """The company's defaults are the policy's."""
        return Policy()

    def histories(self):
        """The renewals done so far in the database (none warned: no prediction was published before them);
        the machine-days since each equipment was registered."""
        equipments = self.env["maintenance.equipment"].search([("company_id", "in", (self.company.id, False))])
        exposure = float(sum(max((self.today - e.create_date.date()).days, 0) for e in equipments))
        renewals = self.env["maintenance.request"].search(
            [
                ("equipment_id", "in", equipments.ids),
                ("stage_id.done", "=", True),
                ("maintenance_type", "in", ("corrective", "preventive")),
            ]
        )
        self.assertFalse(self.env["mro.prediction"].search_count([("equipment_id", "in", renewals.equipment_id.ids)]))
        history = WarningHistory([0.0] * len(renewals), exposure)
        return history, history

    def signals(self, equipment):
        """The analysis' RUL quantiles, from noon today (the analysis ran a little earlier or later today)."""
        elapsed = (datetime.combine(self.today, time(12)) - equipment.mro_last_analysis).total_seconds() / 86400.0
        q = np.asarray(equipment.mro_rul_quantiles, dtype=float) - elapsed
        return (Signal("rul", np.maximum.accumulate(np.maximum(q, 0.0) + np.arange(len(PROBS)) * 1e-9)),)

    def lead(self, product):
        seller = product.seller_ids[:1]
        return self.env["mro.lead.time"]._for(seller.partner_id, product, self.company, seller)

    def need_inputs(self, equipment, line):
        rul, early = self.histories()
        return NeedInputs(
            self.today,
            equipment.mro_criticality,
            line.quantity,
            self.lead(line.product_id),
            self.signals(equipment),
            rul,
            early,
            None,
            plant_closed=self.Planner._closed_days(self.company.resource_calendar_id, self.today, {}),
            vendor_closed=set(),
        )

    # ------------------------------------------------------------------ needs
    def test_policy_settings_are_the_companys(self):
        self.assertEqual(self.Planner._policy(self.company), self.policy())

    def test_needs_dates_states_and_quantities_are_the_policys(self):
        orders = self.plan(self.today)
        policy = self.policy()
        expected = {}
        for equipment in self.equipments:
            for line in equipment.mro_part_ids:
                inputs = self.need_inputs(equipment, line)
                expected[(equipment, line.product_id)] = (inputs, plan_need(inputs, policy))
        needs = self.Need.search([("equipment_id", "in", self.equipments.ids)])
        planned = {key for key, (_i, d) in expected.items() if d.action == "plan"}
        self.assertEqual({(n.equipment_id, n.product_id) for n in needs}, planned)
        self.assertNotIn((self.conveyor, self.bearing), planned)  # class C runs to failure
        for need in needs:
            _inputs, decision = expected[(need.equipment_id, need.product_id)]
            self.assertEqual(need.order_by_date, decision.order_by, need.reason)
            self.assertEqual(need.late, decision.late)
            self.assertIn(decision.reason, need.reason)
        # Due needs, oldest order-by date first, claim free stock and buy the shortfall (no incoming purchase).
        stock = {self.bearing: 1.0, self.seal: 0.0}
        claimed = {self.bearing: 0.0, self.seal: 0.0}
        bought = {}
        due = needs.filtered(lambda n: expected[(n.equipment_id, n.product_id)][1].due)
        self.assertTrue(due)
        self.assertTrue(needs - due, "the scenario also has a need not due yet")
        for need in due.sorted(lambda n: (n.order_by_date, n.id)):
            inputs, decision = expected[(need.equipment_id, need.product_id)]
            free = free_stock(stock[need.product_id], 0.0, 0.0, claimed[need.product_id])
            cover = cover_need(need.quantity, free)
            claimed[need.product_id] += cover.claim
            self.assertEqual(need.state, "ordered" if cover.order else "stock", need.reason)
            if cover.order:
                purchase = purchase_mode(decision, inputs.criticality, policy, None)
                self.assertEqual(need.emergency, purchase.emergency)
                bought[need.product_id] = bought.get(need.product_id, 0) + cover.order
        for need in needs - due:
            self.assertEqual(need.state, "planned")
        lines = orders.order_line
        self.assertEqual({ln.product_id: ln.product_qty for ln in lines}, bought)

    # ------------------------------------------------------------------ min/max
    def test_orderpoints_are_the_policys_levels(self):
        self.plan(self.today)
        self.MinMax._apply_minmax(self.company)
        policy = self.policy()
        rul, early = self.histories()
        parts = self.env["mro.equipment.part"].search([("equipment_id", "in", self.equipments.ids)])
        for product in (self.bearing, self.seal):
            users = tuple(
                BufferUser(line.equipment_id.mro_criticality, line.quantity, self.signals(line.equipment_id))
                for line in parts.filtered(lambda p, pr=product: p.product_id == pr)
            )
            buffer = part_buffer(BufferInputs(users, self.lead(product), product.standard_price, rul, early), policy)
            claimed = sum(
                self.needs(product=product).filtered(lambda n: n.state in ("stock", "ordered")).mapped("quantity")
            )
            levels = orderpoint_levels(buffer, claimed)
            point = self.env["stock.warehouse.orderpoint"].search([("product_id", "=", product.id)])
            self.assertEqual((point.product_min_qty, point.product_max_qty), (levels.min_qty, levels.max_qty))
            self.assertIn("EOQ from", point.mro_reason)

    def test_a_predicted_failure_does_not_inflate_the_eoq(self):
        """A predicted failure is one replacement its need buys, not a yearly rate: the lot (max - min) stays."""
        for equipment in self.equipments:
            equipment.write({"mro_predicted_failure_date": False, "mro_rul_days": 0.0, "mro_failure_probability": 0.0})
        calm = self.MinMax._minmax_plan(self.company)[self.bearing][0]
        self.predict(self.pump, rul=60, probability=0.9)
        self.predict(self.fan, rul=70, probability=0.9)
        warned = self.MinMax._minmax_plan(self.company)[self.bearing][0]
        self.assertEqual(warned.max_qty - warned.min_qty, calm.max_qty - calm.min_qty)
