/** @odoo-module **/

import { registry } from "@web/core/registry";

/** Ask the test runner for a screenshot of the current screen, then give it time to take it. */
function screenshot(name) {
    return {
        content: `screenshot: ${name}`,
        trigger: "body",
        run: async () => {
            console.log(`mro-screenshot ${name}`);
            await new Promise((resolve) => setTimeout(resolve, 1500));
        },
    };
}

registry.category("web_tour.tours").add("mro_health_to_purchase", {
    steps: () => [
        {
            content: "The degraded pump's card shows its health state, coloured",
            trigger: ".o_kanban_record:contains('Pump P-7') .o_mro_health .badge.text-bg-danger",
        },
        screenshot("1-equipment-kanban"),
        {
            content: "Open the degraded pump",
            trigger: ".o_kanban_record:contains('Pump P-7') .o_kanban_record_title, .o_kanban_record:contains('Pump P-7') span:contains('Pump P-7')",
            run: "click",
        },
        {
            content: "Open its Health tab",
            trigger: ".o_notebook a.nav-link:contains('Health')",
            run: "click",
        },
        {
            content: "The trend chart with its forecast band is drawn",
            trigger: ".o_mro_health_trend canvas",
        },
        {
            content: "The remaining useful life is shown with its interval",
            trigger: ".o_field_widget[name='mro_rul_days']:not(:empty)",
        },
        {
            content: "Scroll the chart into view",
            trigger: ".o_mro_health_trend canvas",
            run: () => document.querySelector(".o_mro_health_trend").scrollIntoView({ block: "center" }),
        },
        screenshot("2-equipment-health"),
        {
            content: "Open its alerts",
            trigger: "button[name='action_view_alerts']",
            run: "click",
        },
        {
            content: "Open the short-remaining-life alert",
            trigger: ".o_data_row:contains('Short remaining life') .o_data_cell:first",
            run: "click",
        },
        {
            content: "Acknowledge it",
            trigger: ".o_form_view button[name='action_acknowledge']",
            run: "click",
        },
        {
            content: "The alert is acknowledged",
            trigger: ".o_form_view .o_statusbar_status button.active:contains('Acknowledged'), .o_form_view .o_arrow_button_current:contains('Acknowledged')",
        },
        screenshot("3-alert-acknowledged"),
        {
            content: "Back to the pump",
            trigger: ".o_breadcrumb a:contains('Pump P-7'), .breadcrumb-item a:contains('Pump P-7')",
            run: "click",
        },
        {
            content: "Its spare-part needs",
            trigger: "button[name='action_view_mro_needs']",
            run: "click",
        },
        {
            content: "The bearing was ordered",
            trigger: ".o_data_row:contains('Ordered') .o_data_cell:first",
            run: "click",
        },
        {
            content: "Follow the link to the purchase",
            trigger: ".o_form_view button[name='action_open_purchase']",
            run: "click",
        },
        {
            content: "The purchase order, auto-approved, says why",
            trigger: ".o_form_view .alert-info:contains('Auto-approved'):contains('within the auto-approval limit')",
        },
        screenshot("4-purchase-order"),
        {
            content: "The Maintenance menu",
            trigger: ".o_menu_sections button:contains('Maintenance'), .o_menu_sections a:contains('Maintenance')",
            run: "click",
        },
        {
            content: "Its maintenance requests",
            trigger: ".dropdown-item:contains('Maintenance Requests')",
            run: "click",
        },
        {
            content: "Open the request the rule opened",
            trigger: ".o_kanban_record:contains('Replace bearing')",
            run: "click",
        },
        {
            content: "The work order says where its parts are",
            trigger: ".o_form_view .alert-info:contains('Parts:'):contains('on order')",
        },
        {
            content: "Open its Parts tab",
            trigger: ".o_notebook a.nav-link:contains('Parts')",
            run: "click",
        },
        {
            content: "Each part with its state and expected arrival",
            trigger: ".o_mro_parts .badge:contains('on order')",
        },
        screenshot("5-work-order-parts"),
    ],
});
