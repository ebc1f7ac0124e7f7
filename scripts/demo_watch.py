"""Follow the demo loop over XML-RPC and print each step once it happens:
readings arriving -> an equipment degrades -> an alert -> a maintenance request scheduled before the
failure -> an RFQ or an auto-approved purchase order with its reason.

    python scripts/demo_watch.py --url http://localhost:8069 --db mro_demo --password-file FILE [--timeout 600] [--once]

The password is read from a file (``make demo``: var/demo/secrets/admin-password), not taken on the command
line, where any user of the machine sees it (``ps``).

Exits 0 when the whole loop was seen (with --once: as soon as it is), 1 on timeout.
"""

from __future__ import annotations

import argparse
import sys
import time
import xmlrpc.client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://localhost:8069")
    parser.add_argument("--db", default="mro_demo")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password-file", required=True, help="file holding the password of --login")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--once", action="store_true", help="stop when the loop is complete")
    args = parser.parse_args(argv)
    with open(args.password_file) as secret:
        args.password = secret.read().strip()
    common = xmlrpc.client.ServerProxy(f"{args.url}/xmlrpc/2/common", allow_none=True)
    models = xmlrpc.client.ServerProxy(f"{args.url}/xmlrpc/2/object", allow_none=True)
    uid = common.authenticate(args.db, args.login, args.password, {})
    if not uid:
        print(f"cannot log in to {args.db} as {args.login}", file=sys.stderr)
        return 1

    def call(model, method, *a, **kw):
        return models.execute_kw(args.db, uid, args.password, model, method, list(a), kw)

    start = time.time()
    seen: set[str] = set()
    fresh: set[str] = set()  # alerts, requests and orders this run made (not an earlier one)
    first_reading = None
    step = "readings"

    def say(key: str, text: str) -> None:
        if key not in seen:
            seen.add(key)
            if not text.endswith("(from an earlier run)") and key.startswith(("alert", "req", "po")):
                fresh.add(key)
            print(f"  [{time.time() - start:5.0f} s] {text}", flush=True)

    # What an earlier run left is shown too, marked as such.
    old_alerts = set(call("mro.health.alert", "search", []))
    old_requests = set(call("maintenance.request", "search", [("mro_rule_id", "!=", False)]))
    old_orders = set(call("purchase.order", "search", [("mro_jit", "=", True)]))

    def earlier(record_id: int, old: set[int]) -> str:
        return " (from an earlier run)" if record_id in old else ""

    while time.time() - start < args.timeout:
        try:
            sensors = call("mro.sensor", "search_read", [("last_ts", "!=", False)], fields=["last_ts"], limit=1,
                           order="last_ts desc")  # fmt: skip
            if sensors:
                first_reading = first_reading or sensors[0]["last_ts"]
                say("readings", f"readings arriving (latest {sensors[0]['last_ts']} UTC)")
            degraded = call(
                "maintenance.equipment",
                "search_read",
                [("mro_health_state", "in", ("warning", "critical")), ("mro_predicted_failure_date", "!=", False)],
                fields=[
                    "name",
                    "mro_health_state",
                    "mro_rul_days",
                    "mro_rul_lower_days",
                    "mro_rul_upper_days",
                    "mro_prediction_model",
                ],
                order="mro_rul_days",
            )
            for e in degraded[:3]:
                say(
                    f"eq{e['id']}",
                    f"{e['name']}: health {e['mro_health_state']}, RUL {e['mro_rul_days']:.1f} d "
                    f"({e['mro_rul_lower_days']:.1f}-{e['mro_rul_upper_days']:.1f}), {e['mro_prediction_model']}",
                )
            alerts = call("mro.health.alert", "search_read", [("state", "!=", "closed")], fields=["name", "severity"])
            for a in alerts:
                if a["severity"] != "info":
                    say(f"alert{a['id']}", f"alert: {a['name']} ({a['severity']}){earlier(a['id'], old_alerts)}")
            requests = call(
                "maintenance.request",
                "search_read",
                [("mro_rule_id", "!=", False)],
                fields=["name", "schedule_date", "mro_picking_id", "equipment_id"],
            )
            for r in requests:
                kit = f", parts kit {r['mro_picking_id'][1]}" if r["mro_picking_id"] else ""
                say(
                    f"req{r['id']}",
                    f"maintenance request: {r['name']}, scheduled {r['schedule_date']} UTC{kit}"
                    + earlier(r["id"], old_requests),
                )
            orders = call(
                "purchase.order",
                "search_read",
                [("mro_jit", "=", True)],
                fields=["name", "state", "amount_total", "mro_approval", "mro_approval_reason", "origin"],
            )
            for o in orders:
                what = "auto-approved purchase order" if o["mro_approval"] == "auto" else "RFQ for the buyer"
                reason = o["mro_approval_reason"] or o["state"]
                say(f"po{o['id']}", f"{what} {o['name']} ({o['origin']}): {reason}{earlier(o['id'], old_orders)}")
            done = (
                any(k.startswith("alert") for k in seen)
                and any(k.startswith("req") for k in seen)
                and any(k.startswith("po") for k in seen)
            )
            if done and step != "done":
                step = "done"
                if fresh:
                    say("done", f"the whole loop ran in {time.time() - start:.0f} s")
                else:
                    say("done", "the loop of an earlier run is in place; new events show here as they happen")
                if args.once:
                    return 0
        except (OSError, xmlrpc.client.Error) as exc:
            say(f"err{int(time.time()) // 30}", f"(Odoo not answering: {exc})")
        time.sleep(5)
    return 0 if step == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
