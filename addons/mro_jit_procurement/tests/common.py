from datetime import timedelta

from odoo import fields
from odoo.tests import TransactionCase, new_test_user

from ..mro_planning import lognormal_quantiles


class JitCase(TransactionCase):
    """A pump (criticality A) and a fan (criticality B) sharing a bearing from one vendor; the pump also
    needs a seal kit from another vendor."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.company.write({"mro_auto_approve": False, "po_double_validation": "one_step"})
        cls.buyer = new_test_user(cls.env, login="mro-buyer", groups="purchase.group_purchase_user", name="Bea Buyer")
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", cls.company.id)], limit=1)
        cls.skf = cls.env["res.partner"].create({"name": "Bearings Inc"})
        cls.seals = cls.env["res.partner"].create({"name": "Seals Ltd"})
        cls.bearing = cls._part("Bearing 6205", 40.0, cls.skf, delay=5)
        cls.seal = cls._part("Seal kit", 120.0, cls.seals, delay=10)
        cls.pump = cls.env["maintenance.equipment"].create({"name": "Pump P-1", "mro_criticality": "A"})
        cls.fan = cls.env["maintenance.equipment"].create({"name": "Fan F-1", "mro_criticality": "B"})
        cls.env["mro.equipment.part"].create(
            [
                {"equipment_id": cls.pump.id, "product_id": cls.bearing.id, "quantity": 2, "critical": True},
                {"equipment_id": cls.pump.id, "product_id": cls.seal.id, "quantity": 1},
                {"equipment_id": cls.fan.id, "product_id": cls.bearing.id, "quantity": 1},
            ]
        )
        cls.Planner = cls.env["mro.jit.planner"]
        cls.MinMax = cls.env["mro.jit.minmax"]
        cls.Need = cls.env["mro.part.need"]

    @classmethod
    def _part(cls, name, cost, vendor, delay):
        product = cls.env["product.product"].create(
            {
                "name": name,
                "type": "consu",
                "is_storable": True,
                "standard_price": cost,
                "supplier_taxes_id": [(6, 0, [])],
                "seller_ids": [(0, 0, {"partner_id": vendor.id, "price": cost, "delay": delay})],
            }
        )
        return product

    @staticmethod
    def predict(equipment, rul, lower=None, upper=None, probability=0.9):
        """Give ``equipment`` a prediction as the analysis would publish it: RUL ``rul`` days, 80% interval, on
        the equipment and in the ledger."""
        lower = rul * 0.75 if lower is None else lower
        upper = rul * 1.3 if upper is None else upper
        now = fields.Datetime.now()
        equipment.write(
            {
                "mro_rul_days": rul,
                "mro_rul_lower_days": lower,
                "mro_rul_upper_days": upper,
                "mro_rul_confidence": 0.8,
                "mro_rul_quantiles": [float(v) for v in lognormal_quantiles(rul, lower, upper, 0.8)],
                "mro_predicted_failure_date": now + timedelta(days=rul),
                "mro_last_analysis": now,
                "mro_failure_probability": probability,
                "mro_prediction_model": "exponential",
            }
        )
        # and its entry in the ledger, as the analysis publishes it (what the need and the approval refer to)
        equipment.env["mro.prediction"].create(
            {
                "equipment_id": equipment.id,
                "published_at": now,
                "model": "exponential",
                "rul_days": rul,
                "rul_lower_days": lower,
                "rul_upper_days": upper,
                "confidence": 0.8,
                "predicted_failure_date": now + timedelta(days=rul),
                "failure_probability": probability,
            }
        )

    def plan(self, today=None):
        return self.Planner._plan(self.company, today=today)

    def needs(self, equipment=None, product=None):
        domain = [("state", "not in", ("done", "cancel"))]
        if equipment:
            domain.append(("equipment_id", "=", equipment.id))
        if product:
            domain.append(("product_id", "=", product.id))
        return self.Need.search(domain)

    def put_in_stock(self, product, qty):
        self.env["stock.quant"]._update_available_quantity(product, self.warehouse.lot_stock_id, qty)
