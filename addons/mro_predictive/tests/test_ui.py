import time

from odoo.tests import HttpCase, tagged

from .common import PredictiveCase


@tagged("post_install", "-at_install")
class TestHealthUi(HttpCase):
    """The equipment form shows the health trend chart with its forecast band, in a real browser."""

    def test_equipment_form_draws_the_trend(self):
        equipment = self.env["maintenance.equipment"].create({"name": "UI pump", "serial_no": "UI1"})
        sensor = self.env["mro.sensor"].create(
            {"code": "UI1-VIB", "name": "vib", "equipment_id": equipment.id, "warning_limit": 2.8, "alarm_limit": 4.5}
        )
        values = PredictiveCase.degradation()
        end = time.time() - 60
        stamps = [round((end - (len(values) - 1 - i) * 3600) * 1_000_000) for i in range(len(values))]
        self.env["mro.sensor.reading"]._insert_readings([sensor.id] * len(values), stamps, list(map(float, values)))
        self.env["mro.health.analysis"]._analyze(equipment)
        self.assertTrue(equipment.mro_predicted_failure_date)
        code = """
            const deadline = Date.now() + 20000;
            (function check() {
                const tabs = [...document.querySelectorAll('.o_notebook a.nav-link')];
                const tab = tabs.find(a => a.textContent.trim() === 'Health');
                if (tab && !tab.classList.contains('active')) { tab.click(); }
                const canvas = document.querySelector('.o_mro_health_trend canvas');
                if (canvas && canvas.width > 0 && document.querySelector('.o_mro_health_trend h5')) {
                    console.log('test successful');
                } else if (Date.now() > deadline) {
                    console.error('the health trend chart did not render');
                } else {
                    setTimeout(check, 200);
                }
            })();
        """
        self.browser_js(f"/odoo/action-maintenance.hr_equipment_action/{equipment.id}", code, login="admin", timeout=60)
