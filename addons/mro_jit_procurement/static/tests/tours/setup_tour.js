/** @odoo-module **/

import { registry } from "@web/core/registry";

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

registry.category("web_tour.tours").add("mro_predictive_setup", {
    steps: () => [
        {
            content: "The checklist with its seven steps",
            trigger: ".o_mro_setup .o_mro_setup_step.o_mro_setup_lead_times",
        },
        {
            content: "What is missing for the loop",
            trigger: ".o_mro_setup .o_mro_setup_missing",
        },
        screenshot("9-predictive-setup"),
        {
            content: "Accept the criticality suggestions",
            trigger: ".o_mro_setup_criticality button.o_mro_setup_button:contains('Accept the suggestions')",
            run: "click",
        },
        {
            content: "Every equipment ranked",
            trigger: ".o_mro_setup_criticality .badge.text-bg-success",
        },
        {
            content: "Create the recommended replacement rule",
            trigger: ".o_mro_setup_rules button.o_mro_setup_button:contains('Replace before the predicted failure')",
            run: "click",
        },
        {
            content: "The rule is there",
            trigger: ".o_mro_setup_rules li:contains('✓ Replace before the predicted failure')",
        },
        {
            content: "Learn the lead times from receipts",
            trigger: ".o_mro_setup_lead_times button.o_mro_setup_button:contains('Learn from receipts now')",
            run: "click",
        },
        {
            content: "Lead times learned",
            trigger: ".o_mro_setup_lead_times .badge.text-bg-success",
        },
        screenshot("10-predictive-setup-progress"),
    ],
});
