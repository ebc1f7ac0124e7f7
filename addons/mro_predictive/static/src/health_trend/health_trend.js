/** @odoo-module **/
// Equipment health trend: the limiting sensor's history, its warning/alarm limits, and the
// forecast band (the predicted failure date with its interval), drawn with Odoo's Chart.js.
import { Component, onWillStart, onMounted, onWillUnmount, useRef, useState } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { registry } from "@web/core/registry";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";
import { _t } from "@web/core/l10n/translation";

const { DateTime } = luxon;

export class HealthTrend extends Component {
    static template = "mro_predictive.HealthTrend";
    static props = { ...standardWidgetProps };

    setup() {
        // Not useService: the form may replace this widget while its data loads (e.g. when the record is
        // reloaded after a button); the protected service would then reject in onWillStart and break the view.
        this.orm = this.env.services.orm;
        this.canvas = useRef("canvas");
        this.state = useState({ data: null });
        onWillStart(async () => {
            await loadBundle("web.chartjs_lib");
            if (this.props.record.resId) {
                this.state.data = await this.orm.call("maintenance.equipment", "mro_health_trend", [
                    [this.props.record.resId],
                ]);
            }
        });
        onMounted(() => this.draw());
        onWillUnmount(() => this.chart && this.chart.destroy());
    }

    get hasHistory() {
        return this.state.data && this.state.data.history.length > 0;
    }

    draw() {
        if (!this.hasHistory || !this.canvas.el) {
            return;
        }
        const data = this.state.data;
        const history = data.history.map(([x, y]) => ({ x, y }));
        const xs = history.map((p) => p.x);
        let xMax = Math.max(...xs);
        const ys = history.map((p) => p.y);
        const yMax = Math.max(...ys, data.alarm || 0) * 1.1;
        const datasets = [
            {
                label: data.sensor + (data.unit ? ` (${data.unit})` : ""),
                data: history,
                borderColor: "#1f77b4",
                pointRadius: 0,
                borderWidth: 1.5,
            },
        ];
        const forecast = data.forecast;
        if (forecast) {
            xMax = Math.max(xMax, forecast.upper);
            const top = forecast.threshold || yMax;
            // The forecast band: where the signal is expected to cross the failure threshold.
            datasets.push({
                label: _t("Forecast band (%s)", `${Math.round(forecast.confidence * 100)}%`),
                data: [
                    { x: forecast.lower, y: top },
                    { x: forecast.upper, y: top },
                ],
                borderColor: "rgba(214, 39, 40, 0.0)",
                backgroundColor: "rgba(214, 39, 40, 0.18)",
                fill: "origin",
                pointRadius: 0,
            });
            datasets.push({
                label: _t("Predicted failure"),
                data: [
                    { x: xs[xs.length - 1], y: ys[ys.length - 1] },
                    { x: forecast.median, y: top },
                ],
                borderColor: "#d62728",
                borderDash: [6, 4],
                pointRadius: [0, 4],
            });
        }
        for (const [limit, label, color] of [
            [data.warning, _t("Warning limit"), "#ff7f0e"],
            [data.alarm, _t("Alarm limit"), "#d62728"],
        ]) {
            if (limit) {
                datasets.push({
                    label,
                    data: [
                        { x: Math.min(...xs), y: limit },
                        { x: xMax, y: limit },
                    ],
                    borderColor: color,
                    borderWidth: 1,
                    pointRadius: 0,
                });
            }
        }
        this.chart = new Chart(this.canvas.el, {
            type: "line",
            data: { datasets },
            options: {
                animation: false,
                maintainAspectRatio: false,
                parsing: false,
                scales: {
                    x: {
                        type: "linear",
                        ticks: { callback: (v) => DateTime.fromMillis(v).toFormat("dd LLL") },
                    },
                    y: { beginAtZero: true },
                },
                plugins: { legend: { position: "bottom" } },
            },
        });
    }
}

registry.category("view_widgets").add("mro_health_trend", { component: HealthTrend });
