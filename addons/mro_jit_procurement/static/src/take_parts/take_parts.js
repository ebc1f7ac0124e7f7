/** @odoo-module **/

import { Component, onWillStart, useRef, useState } from "@odoo/owl";
import { scanBarcode } from "@web/core/barcode/barcode_dialog";
import { isBarcodeScannerSupported } from "@web/core/barcode/barcode_video_scanner";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

/**
 * "Take parts": a technician scans (or types) a part's label, a bin or an equipment's label, picks the job and
 * the quantity, and confirms: the part leaves stock at once for that job. Built for one hand on a phone; the
 * part labels' QR codes open it (/odoo/mro-take-parts?product_id=N) from any camera app.
 */
export class TakeParts extends Component {
    static template = "mro_jit_procurement.TakeParts";
    static props = ["*"];
    static path = "mro-take-parts";

    setup() {
        this.orm = useService("orm");
        this.input = useRef("code");
        const params = { ...(this.props.action?.context || {}), ...(this.props.action?.params || {}) };
        this.state = useState({
            code: "",
            product: null,
            products: [],
            lots: [],
            lotId: false,
            requests: [],
            requestId: params.request_id ? parseInt(params.request_id) : false,
            quantity: 1,
            error: "",
            notice: "",
            done: null,
            busy: false,
        });
        this.canScan = isBarcodeScannerSupported();
        onWillStart(async () => {
            const product = params.product_id ? `mro-take-parts?product_id=${parseInt(params.product_id)}` : "";
            await this.lookup(product);
        });
    }

    async lookup(code) {
        this.state.error = "";
        this.state.done = null;
        const result = await this.orm.call("mro.part.take", "lookup", [code], {
            request_id: this.state.requestId || false,
        });
        this.state.requests = result.requests;
        this.state.requestId = result.request_id || this.state.requestId;
        if (result.kind === "product") {
            this.state.product = result.product;
            this.state.products = [];
            this.state.lots = result.lots;
            this.state.lotId = result.product.lot_id || (result.lots.length === 1 ? result.lots[0].id : false);
            this.state.quantity = 1;
        } else if (result.kind === "choice") {
            this.state.products = result.products;
            this.state.notice = result.message;
        } else if (result.kind === "equipment") {
            this.state.notice = _t("%s: now scan the part.", result.equipment.name);
        } else if (code) {
            this.state.error = result.message;
        }
    }

    async onScan() {
        try {
            const code = await scanBarcode(this.env);
            if (code) {
                await this.lookup(code);
            }
        } catch (error) {
            this.state.error = error.message || String(error);
        }
    }

    async onSubmitCode(ev) {
        ev.preventDefault();
        const code = this.state.code.trim();
        this.state.code = "";
        this.state.notice = "";
        if (code) {
            await this.lookup(code);
        }
    }

    async choose(product) {
        await this.lookup(`mro-take-parts?product_id=${product.id}`);
    }

    step(delta) {
        this.state.quantity = Math.max(1, (parseFloat(this.state.quantity) || 0) + delta);
    }

    async onConfirm() {
        if (this.state.busy) {
            return;
        }
        this.state.busy = true;
        this.state.error = "";
        try {
            const done = await this.orm.call("mro.part.take", "take", [
                this.state.product.id,
                this.state.requestId,
                parseFloat(this.state.quantity),
                this.state.lotId || false,
            ]);
            this.state.done = done;
            this.state.product = null;
            this.state.lots = [];
            this.state.lotId = false;
        } catch (error) {
            this.state.error = error.data?.message || error.message || String(error);
        } finally {
            this.state.busy = false;
        }
    }

    get requestOptions() {
        return this.state.requests;
    }
}

registry.category("actions").add("mro_take_parts", TakeParts);
