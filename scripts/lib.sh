#!/usr/bin/env bash
# Shared set-up steps for `make test` and `make demo`.
# Source it (functions) or run it as `scripts/lib.sh <function>`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ODOO_SRC="${ODOO_SRC:-/opt/odoo18}"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
MOSQUITTO_PORT="${MOSQUITTO_PORT:-1883}"

log() { printf '==> %s\n' "$*" >&2; }

SETUP_LOG="${SETUP_LOG:-$ROOT/var/setup.log}"

_odoo_present() {
    [ -f "$ODOO_SRC/odoo/release.py" ] && [ -f "$ODOO_SRC/odoo-bin" ] \
        && grep -q "^version_info = (18, 0" "$ODOO_SRC/odoo/release.py"
}

# An Odoo 18 source tree at ODOO_SRC: the one there, else a shallow clone of the 18.0 branch (with git's
# progress); when that cannot be had, one clear line saying how to provide it, and stop.
ensure_odoo() {
    _odoo_present && return 0
    local how="provide one (git clone --depth 1 --branch 18.0 https://github.com/odoo/odoo $ODOO_SRC) or set ODOO_SRC=/path/to/odoo-18.0"
    if [ -e "$ODOO_SRC" ] && [ -n "$(ls -A "$ODOO_SRC" 2>/dev/null)" ]; then
        echo "error: ODOO_SRC=$ODOO_SRC holds no Odoo 18.0 source; $how" >&2
        exit 2
    fi
    command -v git >/dev/null || _apt_install git >/dev/null 2>&1 || true
    log "fetching Odoo 18.0 into $ODOO_SRC (a shallow clone of the 18.0 branch, about 400 MB)"
    mkdir -p "$(dirname "$SETUP_LOG")"
    local partial="$ODOO_SRC.partial"
    rm -rf "$partial"
    mkdir -p "$(dirname "$ODOO_SRC")" 2>/dev/null || true
    # git's progress on a terminal; in the setup log either way.
    local progress="$SETUP_LOG"
    [ -t 2 ] && progress=/dev/stderr
    if timeout "${MRO_FETCH_TIMEOUT:-1800}" git clone --depth 1 --branch 18.0 --single-branch --progress \
        "${ODOO_REPO:-https://github.com/odoo/odoo}" "$partial" 2> >(tee -a "$SETUP_LOG" >"$progress") >>"$SETUP_LOG" \
        && mv -T "$partial" "$ODOO_SRC" 2>/dev/null && _odoo_present; then
        log "Odoo 18.0 is in $ODOO_SRC"
        return 0
    fi
    rm -rf "$partial"
    echo "error: no Odoo 18.0 source at ODOO_SRC=$ODOO_SRC and fetching it failed (network closed?); $how" >&2
    exit 2
}

# Odoo's addons, the OCA addons installed from the package index into the virtual environment
# (requirements-addons.txt), and the suite's.
addons_path() {
    local core="$ODOO_SRC/odoo/addons" oca
    [ -d "$ODOO_SRC/addons" ] && core="$ODOO_SRC/addons,$core"
    for oca in "$VENV"/lib/python3*/site-packages/odoo/addons; do
        [ -d "$oca" ] && core="$core,$oca"
    done
    echo "$core,$ROOT/addons"
}

# Every installable addon of this repository, comma-separated, in a stable order.
project_addons() {
    "${PY:-python3}" - "$ROOT/addons" <<'PYEOF'
import ast, pathlib, sys
names = [m.parent.name for m in sorted(pathlib.Path(sys.argv[1]).glob("*/__manifest__.py"))
         if ast.literal_eval(m.read_text()).get("installable", True)]
print(",".join(names))
PYEOF
}

_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "error: '$*' needs root; run it as root or install sudo" >&2; return 1; fi
}

_apt_install() {
    log "installing $* with apt"
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Run a setup step with its output in the setup log: one line here, the last lines of the log if it fails.
_quiet() {
    local what="$1"
    shift
    mkdir -p "$(dirname "$SETUP_LOG")"
    log "  $what"
    if ! "$@" >>"$SETUP_LOG" 2>&1; then
        echo "error: installing $what failed; the end of $SETUP_LOG:" >&2
        tail -n 30 "$SETUP_LOG" >&2
        return 1
    fi
}

_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_postgres() {
    if ! command -v pg_ctlcluster >/dev/null && ! command -v pg_ctl >/dev/null; then
        _apt_install postgresql postgresql-client
    fi
    if ! pg_isready -q 2>/dev/null && ! pg_isready -q -h 127.0.0.1 2>/dev/null; then
        log "starting PostgreSQL"
        local ver
        ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
        if [ -n "$ver" ]; then
            _as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
        fi
        for _ in $(seq 1 30); do pg_isready -q 2>/dev/null && break; sleep 1; done
        pg_isready -q || { echo "error: PostgreSQL did not start" >&2; return 1; }
    fi
    # Odoo refuses the 'postgres' role: make sure the login user has a superuser role.
    local me
    me=$(id -un)
    if ! psql -d postgres -Atqc "select 1" >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
            log "creating PostgreSQL role $me"
            runuser -u postgres -- createuser -s "$me" 2>/dev/null || true
        fi
    fi
    psql -d postgres -Atqc "select 1" >/dev/null || {
        echo "error: cannot connect to PostgreSQL as role '$me'" >&2; return 1; }
}

ensure_mosquitto() {
    _port_open "$MOSQUITTO_PORT" && return 0
    command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || _apt_install mosquitto mosquitto-clients
    log "starting Mosquitto"
    local bin
    bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
    if [ -f /etc/mosquitto/mosquitto.conf ]; then
        _as_root "$bin" -d -c /etc/mosquitto/mosquitto.conf
    else
        _as_root "$bin" -d -p "$MOSQUITTO_PORT"
    fi
    for _ in $(seq 1 20); do _port_open "$MOSQUITTO_PORT" && return 0; sleep 0.5; done
    echo "error: Mosquitto did not start on port $MOSQUITTO_PORT" >&2
    return 1
}

# Browser tests (Odoo tours, HttpCase.browser_js) need Chromium; Odoo finds Debian's.
ensure_chromium() {
    command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null \
        || _apt_install chromium || echo "warning: Chromium could not be installed; browser tests will be skipped" >&2
}

# `docker compose config` validates docker-compose.yml in the tests: the compose plugin, else Debian's
# docker-compose.
ensure_compose() {
    docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null \
        || _apt_install docker-compose || echo "warning: docker-compose could not be installed" >&2
}

ensure_services() {
    ensure_postgres
    ensure_mosquitto
}

# The project's virtual environment: Odoo's requirements (with the two Python 3.11 fixes)
# and the project's own. Re-installs only when a requirements file changes.
ensure_venv() {
    ensure_odoo
    local base_py="${PYTHON:-python3}"
    if [ ! -x "$PY" ]; then
        log "creating virtual environment $VENV"
        "$base_py" -m venv "$VENV" || { _apt_install python3-venv python3-dev && "$base_py" -m venv "$VENV"; }
    fi
    local stamp="$VENV/.mro-requirements"
    local want
    want=$( (cat "$ODOO_SRC/requirements.txt" "$ROOT/requirements.txt" "$ROOT/requirements-addons.txt" \
        "$ROOT"/bridge/pyproject.toml "$ROOT"/bridge/sim/pyproject.toml 2>/dev/null || true) | sha1sum | cut -c1-40)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        _project_paths
        return 0
    fi
    log "installing Python requirements into $VENV (about a minute; details in $SETUP_LOG)"
    if ! command -v pg_config >/dev/null || [ ! -f /usr/include/libxml2/libxml/parser.h ]; then
        _apt_install libpq-dev libxml2-dev libxslt1-dev libjpeg-dev zlib1g-dev python3-dev gcc || true
    fi
    local req="$VENV/odoo-requirements.txt"
    # cbor2 5.4.2's sdist builds as version 0.0.0 on Python 3.11: pin 5.6.2.
    # python-ldap is only for auth_ldap and needs OpenLDAP headers: left out.
    grep -v -E '^(cbor2|python-ldap)[ =]' "$ODOO_SRC/requirements.txt" > "$req"
    echo "cbor2==5.6.2" >> "$req"
    _quiet "pip, setuptools and wheel" "$PY" -m pip install --disable-pip-version-check --upgrade pip "setuptools<81" wheel
    # Older sdists import pkg_resources: build them with the setuptools above.
    _quiet "Odoo's requirements" "$PY" -m pip install --disable-pip-version-check --no-build-isolation -r "$req"
    _quiet "the project's requirements" "$PY" -m pip install --disable-pip-version-check -r "$ROOT/requirements.txt"
    # OCA addons declare Odoo as a dependency; Odoo is ODOO_SRC, so: without dependencies.
    _quiet "the OCA addons (queue_job)" "$PY" -m pip install --disable-pip-version-check --no-deps \
        -r "$ROOT/requirements-addons.txt"
    if [ -f "$ROOT/bridge/pyproject.toml" ]; then
        _quiet "the bridge (mro-bridge)" "$PY" -m pip install --disable-pip-version-check -e "$ROOT/bridge"
        # The plant simulator is a package of its own (not in the bridge's production package and image).
        _quiet "the plant simulator (mro-bridge-sim)" "$PY" -m pip install --disable-pip-version-check --no-deps \
            -e "$ROOT/bridge/sim"
    fi
    _project_paths
    echo "$want" > "$stamp"
}

# The project's plain Python packages on the virtual environment's path, from the one list in pyproject.toml
# (pytest's pythonpath), so that benchmarks and scripts import them as the tests do.
_project_paths() {
    "$PY" - "$ROOT" <<'PYEOF'
import pathlib, sys, sysconfig, tomllib
root = pathlib.Path(sys.argv[1])
paths = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["pythonpath"]
pth = pathlib.Path(sysconfig.get_paths()["purelib"]) / "mro-suite-paths.pth"
pth.write_text("".join(f"{root / p}\n" for p in paths))
PYEOF
}

# ruff (lint and format), the generated README.rst up to date, and OCA's mandatory pylint-odoo checks on the
# addons: zero messages. `make lint`, `make test` and pre-commit run this.
lint() {
    (cd "$ROOT" && "$VENV/bin/ruff" check . && "$VENV/bin/ruff" format --check . \
        && "$PY" scripts/gen_readme.py --check \
        && (cd addons && PYTHONPATH="$ODOO_SRC" "$VENV/bin/pylint" --rcfile=../.pylintrc-mandatory \
            mro_sensor_bridge mro_predictive mro_jit_procurement))
}

# Each addon's translation template (addons/<addon>/i18n/<addon>.pot), exported by Odoo from a database that
# has the addons installed: MRO_POT_DB, else `make test`'s database, else a fresh one made for it.
pot() {
    local db="${MRO_POT_DB:-mro_test}" made=""
    if ! psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
        db="mro_pot_$$" made=1
        log "installing the addons on a scratch database $db"
        odoo_bin -d "$db" -i "$(project_addons)" --without-demo=all --stop-after-init --http-port "$(free_port)" \
            --log-level=warn >>"$SETUP_LOG" 2>&1
    fi
    local addon
    for addon in $(project_addons | tr ',' ' '); do
        mkdir -p "$ROOT/addons/$addon/i18n"
        odoo_bin -d "$db" --i18n-export="$ROOT/addons/$addon/i18n/$addon.pot" --modules="$addon" \
            --stop-after-init --http-port "$(free_port)" --log-level=error >>"$SETUP_LOG" 2>&1
        log "addons/$addon/i18n/$addon.pot: $(grep -c '^msgid ' "$ROOT/addons/$addon/i18n/$addon.pot") messages"
    done
    [ -z "$made" ] || dropdb "$db"
}

odoo_bin() {
    "$PY" "$ODOO_SRC/odoo-bin" --addons-path="$(addons_path)" "$@"
}

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ $# -gt 0 ]; then
    "$@"
fi
