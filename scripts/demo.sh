#!/usr/bin/env bash
# `make demo`: the whole loop on this machine. A database with every addon, its demo data and the demo
# plant (scripts/demo_plant.py); Odoo on port 8069; `mro-bridge simulate` serving the plant over Modbus,
# OPC-UA and MQTT with a month of history and one conveyor wearing out; `mro-bridge run` feeding Odoo;
# then it follows the loop (scripts/demo_watch.py): degradation -> alert -> maintenance request -> purchase.
# Ctrl-C stops everything. Running it again reuses the database, the bridge's credentials and its spool.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DB="${MRO_DEMO_DB:-mro_demo}"
PORT="${MRO_DEMO_PORT:-8069}"
SPEEDUP="${MRO_DEMO_SPEEDUP:-60}"          # live simulated seconds per real second
FIRST="${MRO_DEMO_FIRST_ASSET:-Infeed conveyor CV-501}"
FAIL_IN="${MRO_DEMO_FAIL_IN:-72}"          # simulated hours from the start to that asset's failure
OUT="$ROOT/var/demo"
URL="http://localhost:$PORT"
pids=()

stop_all() {
    trap - INT TERM EXIT
    if [ ${#pids[@]} -gt 0 ]; then
        log "stopping the bridge, the simulator and Odoo"
        for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
        for pid in "${pids[@]}"; do
            for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            kill -KILL "$pid" 2>/dev/null || true
        done
    fi
}
trap stop_all EXIT
# Odoo's warning about running as root (the usual case in a container or a lab VM) is noise here.
quiet() { grep -v --line-buffered "Running as user 'root' is a security risk" >&2 || true; }
trap 'exit 130' INT TERM

ensure_odoo
ensure_services
ensure_venv

for port in "$PORT" 5020 4840 9108; do
    if _port_open "$port"; then
        echo "error: port $port is already in use (the demo needs $PORT for Odoo, 5020/4840 for the simulator, 9108 for the bridge); stop what serves it, or for Odoo run MRO_DEMO_PORT=8070 make demo" >&2
        exit 1
    fi
done

addons=$(project_addons)
mkdir -p "$OUT"
if psql -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    log "1/5 reusing database $DB (updating $addons)"
    init=(-u "$addons")
else
    log "1/5 creating database $DB with $addons and demo data (about a minute)"
    init=(-i "$addons")
fi
odoo_bin -d "$DB" "${init[@]}" --stop-after-init --log-level=warn --logfile="$ROOT/var/demo-install.log" 2> >(quiet) || {
    echo "error: installing the addons failed; see $ROOT/var/demo-install.log" >&2; exit 1; }

log "2/5 the demo plant: 20 equipment, sensors, spare parts, vendors with a year of receipts, a plant shutdown"
MRO_DEMO_OUT="$OUT" MRO_ODOO_URL="$URL" odoo_bin shell -d "$DB" --no-http --log-level=warn \
    --logfile="$ROOT/var/demo-plant.log" < "$ROOT/scripts/demo_plant.py" 2> >(quiet) | grep -v '^DEMO_PLANT' || true
[ -s "$OUT/bridge.toml" ] || { echo "error: the demo plant was not built; see $ROOT/var/demo-plant.log" >&2; exit 1; }

log "3/5 starting Odoo on $URL (log: var/demo.log)"
"$PY" "$ODOO_SRC/odoo-bin" --addons-path="$(addons_path)" -d "$DB" --db-filter="^$DB\$" \
    --http-port="$PORT" --logfile="$ROOT/var/demo.log" 2> >(quiet) &
pids+=($!)
for _ in $(seq 1 120); do
    curl -fs "$URL/web/health" >/dev/null 2>&1 && break
    kill -0 "${pids[0]}" 2>/dev/null || { echo "error: Odoo stopped; see $ROOT/var/demo.log" >&2; exit 1; }
    sleep 1
done

log "4/5 starting mro-bridge (tags pulled from Odoo's gateway; log: var/demo-bridge.log, metrics: http://127.0.0.1:9108/metrics)"
"$VENV/bin/mro-bridge" pull-config --config "$OUT/bridge.toml" --output "$OUT/bridge-run.toml" >&2
"$VENV/bin/mro-bridge" run --config "$OUT/bridge-run.toml" > "$ROOT/var/demo-bridge.log" 2>&1 &
pids+=($!)
sleep 2  # subscribed before the simulator publishes its history

log "5/5 starting the plant simulator (x$SPEEDUP; '$FIRST' fails in $FAIL_IN simulated hours; log: var/demo-simulator.log)"
"$VENV/bin/mro-bridge" simulate --plant "$OUT/plant.json" --speedup "$SPEEDUP" --seed 1 \
    --first-asset "$FIRST" --first-failure-in "$FAIL_IN" --backfill-days 30 --backfill-delay 3 \
    --listen 127.0.0.1 --modbus-port 5020 --opcua-port 4840 --mqtt-host 127.0.0.1 --mqtt-port "$MOSQUITTO_PORT" \
    --pki "$OUT/simulator-pki" > "$ROOT/var/demo-simulator.log" 2>&1 &
pids+=($!)
sleep 3
kill -0 "${pids[2]}" 2>/dev/null || { echo "error: the simulator stopped; see $ROOT/var/demo-simulator.log" >&2; exit 1; }


cat <<EOF

  MRO Predictive Suite demo is running.
    URL:      $URL/odoo/maintenance
    Login:    admin
    Password: admin
  Look at: Maintenance > Equipment (health on the cards; '$FIRST' turns red; its Health tab has the
           trend chart with the forecast band and the remaining useful life),
           Maintenance > Maintenance > Health Alerts, the maintenance request its rule opens (with the
           reserved parts kit), Maintenance > Spare Parts > Spare-Parts Plan, and Purchase > Orders for the
           order that buys its part, with the reason and the approval decision.
  Ctrl-C stops everything.

EOF
log "following the loop (analysis and planning run every minute)"
# In the background, so that a signal to this script (Ctrl-C, kill) is handled at once by its trap.
"$PY" "$ROOT/scripts/demo_watch.py" --url "$URL" --db "$DB" --timeout 86400 &
pids+=($!)
wait "${pids[-1]}" || true
