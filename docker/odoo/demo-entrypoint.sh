#!/bin/bash
# First start: create the demo database (every addon, demo data, the demo plant), its administrator's
# password (printed once below, kept in /var/lib/odoo/mro/admin-password) and the database manager's master
# password (/var/lib/odoo/mro/master-password), all mode 0600 in Odoo's own volume; write the simulator's
# plant and the bridge's file (mode 0600, with the gateway's API key) into /shared. Every start: serve Odoo
# with the database manager off (list_db = False). Running it again reuses the database and the passwords.
set -euo pipefail
DB="${MRO_DEMO_DB:-mro_demo}"
SECRETS="${MRO_SECRETS_DIR:-/var/lib/odoo/mro}"   # (tests set these two)
SCRIPTS="${MRO_SCRIPTS_DIR:-/opt/mro}"
CONF="$SECRETS/odoo.conf"
export PGPASSWORD="${PASSWORD:-odoo}"
# Odoo's configuration: the database manager off, behind a master password made once.
python3 "$SCRIPTS/demo_odoo_conf.py" "$SECRETS" "$CONF" \
    addons_path=/mnt/extra-addons,/opt/mro/oca/odoo/addons,/usr/lib/python3/dist-packages/odoo/addons \
    data_dir=/var/lib/odoo server_wide_modules=base,web,queue_job queue_job.max_capacity=2 \
    db_host="${HOST:-db}" db_user="${USER:-odoo}" db_password="${PASSWORD:-odoo}"
until pg_isready -q -h "${HOST:-db}" -U "${USER:-odoo}"; do echo "waiting for PostgreSQL"; sleep 1; done
if ! psql -h "${HOST:-db}" -U "${USER:-odoo}" -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname='$DB'" \
        | grep -q 1; then
    echo "creating $DB with the MRO suite and its demo plant (a few minutes)"
    odoo -c "$CONF" -d "$DB" -i mro_jit_procurement --without-demo= --stop-after-init
fi
new_password=$([ -s "$SECRETS/admin-password" ] || echo yes)
# The bridge's files go to the shared volume, mode 0600: the bridge's container reads them as root and keeps
# its own copy (docker/bridge-entrypoint.sh).
MRO_DEMO_OUT=/shared MRO_ODOO_URL=http://odoo:8069 MRO_SIM_HOST=simulator MRO_MQTT_HOST=mosquitto \
    MRO_MQTT_USERNAME=bridge MRO_MQTT_PASSWORD_ENV=MRO_MQTT_PASSWORD MRO_DEMO_SPOOL=/var/lib/mro-bridge/spool.db \
    MRO_BRIDGE_LISTEN=0.0.0.0:9108 MRO_DEMO_ADMIN_PASSWORD_FILE="$SECRETS/admin-password" \
    odoo shell -c "$CONF" -d "$DB" --no-http < "$SCRIPTS/demo_plant.py" | grep -v '^DEMO_PLANT' || true
if [ ! -s "$SECRETS/admin-password" ]; then
    echo "error: the demo plant was not built (no administrator password); see the lines above" >&2
    exit 1
fi
if [ -n "$new_password" ]; then
    cat <<BANNER
==========================================================================================================
  MRO demo: http://localhost:8069 (from this machine), login admin, password $(cat "$SECRETS/admin-password")
  (printed this once; kept in the odoo-data volume, readable by Odoo's user only:
   docker compose exec odoo cat $SECRETS/admin-password)
==========================================================================================================
BANNER
fi
exec odoo -c "$CONF" -d "$DB" --db-filter="^$DB\$"
