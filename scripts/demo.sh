#!/usr/bin/env bash
# `make demo`: a database with every addon and its demo data, served on port 8069.
# Running it again reuses the database (and updates the addons to the current code).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DB="${MRO_DEMO_DB:-mro_demo}"
PORT="${MRO_DEMO_PORT:-8069}"

ensure_odoo
ensure_services
ensure_venv

if _port_open "$PORT"; then
    echo "error: port $PORT is already in use; stop what serves it or run MRO_DEMO_PORT=8070 make demo" >&2
    exit 1
fi

addons=$(project_addons)
mkdir -p "$ROOT/var"
if psql -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    log "reusing database $DB (updating $addons)"
    init=(-u "$addons")
else
    log "creating database $DB with $addons and demo data (about a minute)"
    init=(-i "$addons")
fi
odoo_bin -d "$DB" "${init[@]}" --stop-after-init --log-level=warn --logfile="$ROOT/var/demo-install.log" || {
    echo "error: installing the addons failed; see $ROOT/var/demo-install.log" >&2; exit 1; }

cat <<EOF

  MRO Predictive Suite demo is starting.
    URL:      http://localhost:$PORT/odoo/maintenance
    Login:    admin
    Password: admin
  Look at: Maintenance > Equipment (health on the cards; the Health tab with the trend chart),
           Maintenance > Sensors (readings, history charts), Maintenance > Maintenance > Health Alerts,
           Maintenance > Configuration > Sensor Gateways, Asset Models, Prescriptive Rules.
  Ctrl-C stops the server. Server log: $ROOT/var/demo.log

EOF
exec "$PY" "$ODOO_SRC/odoo-bin" --addons-path="$(addons_path)" -d "$DB" --db-filter="^$DB\$" \
    --http-port="$PORT" --logfile="$ROOT/var/demo.log"
