#!/usr/bin/env bash
# `make test`: set up everything, install every addon on a fresh database, then one pytest run over every
# layer (the addons' Odoo tests through pytest-odoo, bridge/, tests/), and end with one line
# "N passed, N failed". Arguments go to pytest (e.g. `make test ARGS="-k take_parts"`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ensure_odoo
ensure_services
ensure_venv
ensure_chromium
ensure_compose

OUT="$ROOT/var/test"
rm -rf "$OUT" && mkdir -p "$OUT"
DB="${MRO_TEST_DB:-mro_test}"
lint_failed=0

log "lint: ruff, README.rst up to date, pylint-odoo (OCA mandatory checks)"
if ! lint; then
    lint_failed=1
fi

addons=$(project_addons)
log "installing $addons on a fresh database $DB (with demo data)"
dropdb --if-exists "$DB"
set +e
odoo_bin -d "$DB" -i "$addons" --stop-after-init --http-port "$(free_port)" --log-level=info \
    --db-filter="^$DB\$" 2>&1 | tee "$OUT/odoo.log" | grep -E --line-buffered " (ERROR|CRITICAL) " || true
odoo_rc=${PIPESTATUS[0]}
set -e
# The cross-component tests start Odoo servers on copies of a template; the addons' tests run in pytest's own
# process on $DB, which holds connections to it, so the template is a copy of its own.
dropdb --if-exists "${DB}_template"
createdb -T "$DB" "${DB}_template"
export MRO_TEMPLATE_DB="${DB}_template"
cat > "$OUT/odoo.conf" <<CONF
[options]
db_name = $DB
db_filter = ^$DB\$
addons_path = $(addons_path)
http_port = $(free_port)
http_interface = 127.0.0.1
log_level = warn
CONF

log "pytest: every layer in one run (the addons' Odoo tests through pytest-odoo, bridge/, tests/)"
set +e
(cd "$ROOT" && PYTHONPATH="$ODOO_SRC${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m pytest -q -p no:cacheprovider \
    --odoo-config="$OUT/odoo.conf" --odoo-http --junitxml="$OUT/pytest.xml" addons bridge tests "$@")
pytest_rc=$?
set -e

"$PY" "$ROOT/scripts/summarize.py" --odoo-log "$OUT/odoo.log" --odoo-rc "$odoo_rc" \
    --junit "$OUT/pytest.xml" --pytest-rc "$pytest_rc" --lint-failed "$lint_failed"
