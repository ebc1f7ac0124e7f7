#!/bin/bash
# First start: create the demo database (every addon, demo data, the demo plant) and write the bridge's
# and the simulator's files into /shared; every start: serve Odoo. Running it again reuses the database.
set -euo pipefail
DB="${MRO_DEMO_DB:-mro_demo}"
ARGS=(--db_host="${HOST:-db}" --db_user="${USER:-odoo}" --db_password="${PASSWORD:-odoo}" \
      --addons-path=/mnt/extra-addons,/usr/lib/python3/dist-packages/odoo/addons)
until pg_isready -q -h "${HOST:-db}" -U "${USER:-odoo}"; do echo "waiting for PostgreSQL"; sleep 1; done
if ! psql -h "${HOST:-db}" -U "${USER:-odoo}" -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname='$DB'" \
        | grep -q 1; then
    echo "creating $DB with the MRO suite and its demo plant (a few minutes)"
    odoo "${ARGS[@]}" -d "$DB" -i mro_jit_procurement --without-demo= --stop-after-init
fi
# The bridge's files go to the shared volume, readable by the bridge container's user (another uid).
MRO_DEMO_OUT=/shared MRO_ODOO_URL=http://odoo:8069 MRO_SIM_HOST=simulator MRO_MQTT_HOST=mosquitto \
    MRO_DEMO_SPOOL=/var/lib/mro-bridge/spool.db MRO_BRIDGE_LISTEN=0.0.0.0:9108 MRO_DEMO_FILE_MODE=644 \
    odoo shell "${ARGS[@]}" -d "$DB" --no-http < /opt/mro/demo_plant.py | grep -v '^DEMO_PLANT' || true
exec odoo "${ARGS[@]}" -d "$DB" --db-filter="^$DB\$"
