#!/bin/sh
# The demo's MQTT users: a password for the bridge and one for the simulator (made once, then kept), and
# Mosquitto's password file holding both (hashed by mosquitto_passwd). Every file is mode 0600.
#
#   docker/mqtt-secrets.sh DIR [OWNER]
#
# writes DIR/bridge/mqtt-password and DIR/simulator/mqtt-password (owned by the caller), and
# DIR/mosquitto/passwd owned by OWNER (the user the broker reads it as; default: the caller).
# docker-compose.yml runs it in its `secrets` service (OWNER mosquitto); `make demo` runs it too.
set -eu
dir=$1
owner=${2:-$(id -un)}
umask 077
for user in bridge simulator; do
    mkdir -p "$dir/$user"
    if [ ! -s "$dir/$user/mqtt-password" ]; then
        LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 >"$dir/$user/mqtt-password.new"
        mv "$dir/$user/mqtt-password.new" "$dir/$user/mqtt-password"
    fi
done
mkdir -p "$dir/mosquitto"
plain="$dir/mosquitto/passwd.new"
: >"$plain"
for user in bridge simulator; do
    printf '%s:%s\n' "$user" "$(cat "$dir/$user/mqtt-password")" >>"$plain"
done
mosquitto_passwd -U "$plain"  # plain text -> salted hashes, in place
if [ "$owner" != "$(id -un)" ]; then
    chown "$owner:$(id -gn "$owner")" "$plain"
fi
mv "$plain" "$dir/mosquitto/passwd"
