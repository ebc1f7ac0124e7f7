"""18.0.1.1.0: the fields this addon adds to other modules' models carry the mro_ prefix (OCA's rule)."""

from odoo.addons.mro_sensor_bridge.migration import rename_fields

EQUIPMENT = """criticality health_score health_state health_reasons anomaly rul_days rul_lower_days rul_upper_days
rul_confidence rul_quantiles predicted_failure_date failure_probability prediction_model prediction_reason
limiting_sensor_id last_analysis analysis_data_ts analysis_error baseline_since health_alert_ids open_alert_count
prediction_ids health_color""".split()
SENSOR = """baseline_median baseline_mad baseline_n baseline_learned_at anomaly anomaly_z data_quality
analysis_note""".split()
TEAM = ["resource_calendar_id"]


def migrate(cr, version):
    if not version:
        return
    for model, names in (("maintenance.equipment", EQUIPMENT), ("mro.sensor", SENSOR), ("maintenance.team", TEAM)):
        rename_fields(cr, "mro_predictive", model, [(name, f"mro_{name}") for name in names])
