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

// Opened from a part's label: the QR code's link, /odoo/mro-take-parts?product_id=<the bearing>.
registry.category("web_tour.tours").add("mro_phone_take_parts", {
    steps: () => [
        {
            content: "The part of the label is shown",
            trigger: ".o_mro_take_parts .o_mro_part_name:contains('Bearing 6310')",
        },
        {
            content: "The job in progress is chosen already",
            trigger: ".o_mro_take_parts select.o_mro_request option:selected:contains('Replace bearing'):not(:visible)",
        },
        {
            content: "Take it",
            trigger: ".o_mro_take_parts .o_mro_confirm:enabled",
            run: "click",
        },
        {
            content: "Taken, from the kit",
            trigger: ".o_mro_take_parts .o_mro_taken:contains('taken for'):contains('from its kit')",
        },
        screenshot("6-phone-take-parts"),
    ],
});

// My day: the job's card, the timer started then paused for parts.
registry.category("web_tour.tours").add("mro_phone_my_day", {
    steps: () => [
        {
            content: "The job of the day, with its parts",
            trigger: ".o_mro_phone_kanban .o_kanban_record:contains('Inspect seal') .badge:contains('in kit')",
        },
        {
            content: "Start the timer",
            trigger: ".o_kanban_record:contains('Inspect seal') button.o_mro_timer_start",
            run: "click",
        },
        {
            content: "Pause it",
            trigger: ".o_kanban_record:contains('Inspect seal') button.o_mro_timer_pause",
            run: "click",
        },
        {
            content: "Waiting for parts",
            trigger: ".modal button.o_mro_pause_parts",
            run: "click",
        },
        {
            content: "Paused: the card offers to resume",
            trigger: ".o_kanban_record:contains('Inspect seal') button.o_mro_timer_resume",
        },
        screenshot("7-phone-my-day"),
    ],
});

// The health alerts: acknowledged with one tap.
registry.category("web_tour.tours").add("mro_phone_alerts", {
    steps: () => [
        {
            content: "The alert's card",
            trigger: ".o_kanban_record:contains('Pump P-9') button.o_mro_acknowledge",
            run: "click",
        },
        {
            content: "Acknowledged",
            trigger: ".o_kanban_record:contains('Pump P-9'):not(:has(button.o_mro_acknowledge))",
        },
        screenshot("8-phone-alert-acknowledged"),
    ],
});
