#!/usr/bin/env bash
# `make test`: set up everything, run every addon's Odoo tests on a fresh database,
# then pytest on bridge/ and tests/, and end with one line "N passed, N failed".
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
export MRO_TEMPLATE_DB="$DB"
lint_failed=0

log "lint: ruff, README.rst up to date, pylint-odoo (OCA mandatory checks)"
if ! lint; then
    lint_failed=1
fi

addons=$(project_addons)
tags=$(echo "$addons" | tr ',' '\n' | sed 's|^|/|' | paste -sd, -)
log "Odoo tests: fresh database $DB with $addons"
dropdb --if-exists "$DB"
set +e
odoo_bin -d "$DB" -i "$addons" --test-tags "$tags" --stop-after-init \
    --http-port "$(free_port)" --log-level=info \
    --db-filter="^$DB\$" 2>&1 | tee "$OUT/odoo.log" | grep -E --line-buffered \
    " (ERROR|CRITICAL|WARNING) | odoo\.tests\.(stats|result): |FAIL: |ERROR: " || true
odoo_rc=${PIPESTATUS[0]}
set -e

log "pytest: bridge/ and tests/"
paths=()
[ -d "$ROOT/bridge" ] && paths+=("$ROOT/bridge")
paths+=("$ROOT/tests")
set +e
(cd "$ROOT" && "$PY" -m pytest -q -p no:cacheprovider --junitxml="$OUT/pytest.xml" "${paths[@]}")
pytest_rc=$?
set -e

"$PY" "$ROOT/scripts/summarize.py" --odoo-log "$OUT/odoo.log" --odoo-rc "$odoo_rc" \
    --junit "$OUT/pytest.xml" --pytest-rc "$pytest_rc" --lint-failed "$lint_failed"
