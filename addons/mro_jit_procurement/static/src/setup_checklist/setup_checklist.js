/** @odoo-module **/

import { Component, onWillStart, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

/**
 * Predictive Setup: the steps from an ordinary Odoo database to a running loop, each with its progress
 * measured from the data and the buttons that do it (mro.setup on the server).
 */
export class SetupChecklist extends Component {
    static template = "mro_jit_procurement.SetupChecklist";
    static props = ["*"];
    static path = "predictive-setup";

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ steps: [], missing: [], ready: false, error: "" });
        onWillStart(() => this.load());
    }

    async load() {
        const checklist = await this.orm.call("mro.setup", "get_checklist", []);
        Object.assign(this.state, checklist, { error: "" });
    }

    async run(button) {
        if (button.url) {
            window.open(button.url, "_blank");
            return;
        }
        try {
            const result = await this.orm.call("mro.setup", button.method, button.args || []);
            if (result) {
                await this.action.doAction(result, { onClose: () => this.load() });
            }
        } catch (error) {
            this.state.error = error.data?.message || error.message || String(error);
        }
        await this.load();
    }

    async skip(step) {
        await this.orm.call("mro.setup", "action_skip", [step.key]);
        await this.load();
    }

    badge(step) {
        if (step.skipped) {
            return "text-bg-secondary";
        }
        return { done: "text-bg-success", partial: "text-bg-warning", todo: "text-bg-light" }[step.status];
    }
}

registry.category("actions").add("mro_setup_checklist", SetupChecklist);
