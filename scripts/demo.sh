#!/usr/bin/env bash
# `make demo`: the whole loop on this machine. A database with every addon, its demo data and the demo
# plant (scripts/demo_plant.py); Odoo on port 8069; a private MQTT broker; `mro-bridge-sim` serving the
# plant over Modbus, OPC-UA and MQTT with a month of history and one conveyor wearing out; `mro-bridge run`
# feeding Odoo; then it follows the loop (scripts/demo_watch.py): degradation -> alert -> maintenance request
# -> purchase. Ctrl-C stops everything. Running it again reuses the database, the passwords, the bridge's
# credentials and its spool.
#
# Safe by default (README, "Security"): Odoo, the broker and the bridge's metrics listen on 127.0.0.1
# (MRO_BIND_ADDRESS=0.0.0.0, or one interface's address, exposes them on purpose; the simulator's Modbus and
# OPC-UA servers, which have no authentication, stay on 127.0.0.1); the administrator's password is
# generated (printed once, kept in var/demo/secrets/admin-password); the database manager is off
# (list_db = False) behind a generated master password; the broker refuses anonymous clients (the bridge and
# the simulator have their own users); everything written under var/ is readable by this user only.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
umask 077

DB="${MRO_DEMO_DB:-mro_demo}"
PORT="${MRO_DEMO_PORT:-8069}"
MQTT_PORT="${MRO_DEMO_MQTT_PORT:-1884}"    # the demo's own broker, not the machine's Mosquitto on 1883
BIND="${MRO_BIND_ADDRESS:-127.0.0.1}"      # where Odoo, the broker and the bridge's metrics listen
SPEEDUP="${MRO_DEMO_SPEEDUP:-60}"          # live simulated seconds per real second
FIRST="${MRO_DEMO_FIRST_ASSET:-Infeed conveyor CV-501}"
FAIL_IN="${MRO_DEMO_FAIL_IN:-72}"          # simulated hours from the start to that asset's failure
OUT="$ROOT/var/demo"
SECRETS="$OUT/secrets"
case "$BIND" in  # how the demo's own processes reach what listens on $BIND
    127.0.0.1 | 0.0.0.0) HOST=127.0.0.1 URL="http://localhost:$PORT" ;;
    *) HOST="$BIND" URL="http://$BIND:$PORT" ;;
esac
pids=()

stop_all() {
    trap - INT TERM EXIT
    if [ ${#pids[@]} -gt 0 ]; then
        log "stopping the bridge, the simulator, the broker and Odoo"
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
ensure_postgres
ensure_venv
if ! command -v mosquitto_passwd >/dev/null || ! { command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; }; then
    _apt_install mosquitto
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

for port in "$PORT" "$MQTT_PORT" 5020 4840 9108; do
    if _port_open "$port"; then
        echo "error: port $port is already in use (the demo needs $PORT for Odoo, $MQTT_PORT for its MQTT broker, 5020/4840 for the simulator, 9108 for the bridge); stop what serves it, or for Odoo and the broker run e.g. MRO_DEMO_PORT=8070 MRO_DEMO_MQTT_PORT=1885 make demo" >&2
        exit 1
    fi
done

mkdir -p "$OUT" "$SECRETS" "$OUT/mosquitto"
chmod 700 "$OUT" "$SECRETS"  # var/demo of an earlier run may have been made with a looser umask
# Odoo's configuration: the database manager off, behind a master password made once (var/demo/secrets);
# queue_job loaded server-wide: its job runner runs the analysis jobs (two at a time).
"$PY" "$ROOT/scripts/demo_odoo_conf.py" "$SECRETS" "$OUT/odoo.conf" server_wide_modules=base,web,queue_job \
    queue_job.max_capacity=2
# The broker's users (bridge, simulator) and its password file, as docker compose makes them.
sh "$ROOT/docker/mqtt-secrets.sh" "$SECRETS/mqtt"
cat > "$OUT/mosquitto.conf" <<CONF
listener $MQTT_PORT $BIND
allow_anonymous false
password_file $SECRETS/mqtt/mosquitto/passwd
persistence true
persistence_location $OUT/mosquitto/
max_queued_messages 0
user $(id -un)
CONF

addons=$(project_addons)
if psql -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    log "1/5 reusing database $DB (updating $addons)"
    init=(-u "$addons")
else
    log "1/5 creating database $DB with $addons and demo data (about a minute)"
    init=(-i "$addons")
fi
odoo_bin -c "$OUT/odoo.conf" -d "$DB" "${init[@]}" --stop-after-init --log-level=warn \
    --logfile="$ROOT/var/demo-install.log" 2> >(quiet) || {
    echo "error: installing the addons failed; see $ROOT/var/demo-install.log" >&2; exit 1; }

log "2/5 the demo plant: 20 equipment, sensors, spare parts, vendors with a year of receipts, a plant shutdown"
new_password=$([ -s "$SECRETS/admin-password" ] || echo yes)
MRO_DEMO_OUT="$OUT" MRO_ODOO_URL="$URL" MRO_MQTT_HOST="$HOST" MRO_MQTT_PORT="$MQTT_PORT" MRO_MQTT_USERNAME=bridge \
    MRO_MQTT_PASSWORD_ENV=MRO_MQTT_PASSWORD MRO_BRIDGE_LISTEN="$BIND:9108" \
    MRO_DEMO_ADMIN_PASSWORD_FILE="$SECRETS/admin-password" \
    odoo_bin shell -c "$OUT/odoo.conf" -d "$DB" --no-http --log-level=warn --logfile="$ROOT/var/demo-plant.log" \
    < "$ROOT/scripts/demo_plant.py" 2> >(quiet) | grep -v '^DEMO_PLANT' || true
if [ ! -s "$OUT/bridge.toml" ] || [ ! -s "$SECRETS/admin-password" ]; then
    echo "error: the demo plant was not built; see $ROOT/var/demo-plant.log" >&2
    exit 1
fi

log "3/5 starting Odoo on $URL (listening on $BIND; log: var/demo.log) and the demo's MQTT broker on $HOST:$MQTT_PORT (users only, no anonymous clients; log: var/demo-mosquitto.log)"
"$PY" "$ODOO_SRC/odoo-bin" -c "$OUT/odoo.conf" --addons-path="$(addons_path)" -d "$DB" --db-filter="^$DB\$" \
    --http-interface="$BIND" --http-port="$PORT" --logfile="$ROOT/var/demo.log" 2> >(quiet) &
odoo_pid=$!
pids+=("$odoo_pid")
"$MOSQUITTO" -c "$OUT/mosquitto.conf" > "$ROOT/var/demo-mosquitto.log" 2>&1 &
mosquitto_pid=$!
pids+=("$mosquitto_pid")
for _ in $(seq 1 120); do
    curl -fs "$URL/web/health" >/dev/null 2>&1 && break
    kill -0 "$odoo_pid" 2>/dev/null || { echo "error: Odoo stopped; see $ROOT/var/demo.log" >&2; exit 1; }
    sleep 1
done
kill -0 "$mosquitto_pid" 2>/dev/null || { echo "error: Mosquitto stopped; see $ROOT/var/demo-mosquitto.log" >&2; exit 1; }

log "4/5 starting mro-bridge (tags pulled from Odoo's gateway; log: var/demo-bridge.log, metrics: http://$HOST:9108/metrics)"
rm -f "$OUT/bridge-run.toml"  # written again under umask 077: it holds the API key
# Each MQTT password goes to its own process through the environment (bridge.toml names the variable).
MRO_MQTT_PASSWORD=$(cat "$SECRETS/mqtt/bridge/mqtt-password") \
    "$VENV/bin/mro-bridge" pull-config --config "$OUT/bridge.toml" --output "$OUT/bridge-run.toml" >&2
MRO_MQTT_PASSWORD=$(cat "$SECRETS/mqtt/bridge/mqtt-password") \
    "$VENV/bin/mro-bridge" run --config "$OUT/bridge-run.toml" > "$ROOT/var/demo-bridge.log" 2>&1 &
pids+=($!)
sleep 2  # subscribed before the simulator publishes its history

log "5/5 starting the plant simulator (x$SPEEDUP; '$FIRST' fails in $FAIL_IN simulated hours; log: var/demo-simulator.log)"
MRO_MQTT_PASSWORD=$(cat "$SECRETS/mqtt/simulator/mqtt-password") \
    "$VENV/bin/mro-bridge-sim" --plant "$OUT/plant.json" --speedup "$SPEEDUP" --seed 1 \
    --first-asset "$FIRST" --first-failure-in "$FAIL_IN" --backfill-days 30 --backfill-delay 3 \
    --listen 127.0.0.1 --modbus-port 5020 --opcua-port 4840 --mqtt-host "$HOST" --mqtt-port "$MQTT_PORT" \
    --mqtt-username simulator --pki "$OUT/simulator-pki" > "$ROOT/var/demo-simulator.log" 2>&1 &
simulator_pid=$!
pids+=("$simulator_pid")
sleep 3
kill -0 "$simulator_pid" 2>/dev/null || { echo "error: the simulator stopped; see $ROOT/var/demo-simulator.log" >&2; exit 1; }

if [ -n "$new_password" ]; then
    password="$(cat "$SECRETS/admin-password")  (new: shown this once; kept in var/demo/secrets/admin-password, readable by you only)"
else
    password="in var/demo/secrets/admin-password (readable by you only)"
fi
if [ "$BIND" = 127.0.0.1 ]; then
    reach="this machine only (to expose it on purpose: MRO_BIND_ADDRESS=0.0.0.0 make demo; README, \"Security\")"
else
    reach="any host that reaches $BIND (MRO_BIND_ADDRESS=$BIND)"
fi

cat <<EOF

  MRO Predictive Suite demo is running.
    URL:      $URL/odoo/maintenance
    Login:    admin
    Password: $password
    Reached from: $reach
  Look at: Maintenance > Equipment (health on the cards; '$FIRST' turns red; its Health tab has the
           trend chart with the forecast band and the remaining useful life),
           Maintenance > Maintenance > Health Alerts, the maintenance request its rule opens (with the
           reserved parts kit), Maintenance > Spare Parts > Spare-Parts Plan, and Purchase > Orders for the
           order that buys its part, with the reason and the approval decision.
  Ctrl-C stops everything.

EOF
log "following the loop (analysis and planning run every minute)"
# In the background, so that a signal to this script (Ctrl-C, kill) is handled at once by its trap.
"$PY" "$ROOT/scripts/demo_watch.py" --url "$URL" --db "$DB" --password-file "$SECRETS/admin-password" \
    --timeout 86400 &
pids+=($!)
wait "${pids[-1]}" || true
