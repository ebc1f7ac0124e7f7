#!/bin/sh
# The bridge's and the simulator's containers start as root only to read the secrets no other user may
# read, then run their command as the image's `bridge` user, with umask 077 (what they write is 0600):
#   MRO_MQTT_PASSWORD_FILE  its MQTT password (written by the `secrets` service), handed on as MRO_MQTT_PASSWORD;
#   MRO_BRIDGE_CONFIG_FROM  the bridge's file with its Odoo API key, written by the Odoo container readable by
#                           Odoo's user only: copied to /var/lib/mro-bridge/bridge-odoo.toml, the bridge's own.
set -eu
umask 077
RUN_AS="${MRO_RUN_AS:-bridge}"  # (tests set these two)
CONFIG_TO="${MRO_BRIDGE_CONFIG_TO:-/var/lib/mro-bridge/bridge-odoo.toml}"
if [ "$(id -u)" != 0 ]; then
    echo "bridge-entrypoint: must start as root (user: root in docker-compose.yml); it then drops to '$RUN_AS'" >&2
    exit 1
fi
if [ -n "${MRO_MQTT_PASSWORD_FILE:-}" ]; then
    MRO_MQTT_PASSWORD=$(cat "$MRO_MQTT_PASSWORD_FILE")
    export MRO_MQTT_PASSWORD
    unset MRO_MQTT_PASSWORD_FILE
fi
if [ -n "${MRO_BRIDGE_CONFIG_FROM:-}" ]; then
    install -m 600 -o "$RUN_AS" -g "$(id -gn "$RUN_AS")" "$MRO_BRIDGE_CONFIG_FROM" "$CONFIG_TO"
    unset MRO_BRIDGE_CONFIG_FROM
fi
HOME=$(getent passwd "$RUN_AS" | cut -d: -f6)
export HOME
exec setpriv --reuid="$RUN_AS" --regid="$(id -g "$RUN_AS")" --init-groups -- "$@"
