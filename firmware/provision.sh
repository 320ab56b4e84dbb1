#!/bin/sh
# Provisions a Raspberry Pi (Debian / Raspberry Pi OS) as an fbsdetect sensor node.
#
#   sudo ./provision.sh --name NODE --server https://SERVER --admin-token TOKEN \
#        [--mqtt mqtts://SERVER:8883] [--serial SERIAL] [--uplink mqtt|https] [--profile cn]
#
# 1. installs Debian packages (python3-venv, rtl-sdr, chrony) and fbsdetect into /opt/fbsdetect/venv
# 2. installs the udev rules and the DVB-T blacklist from udev/
# 3. writes the dongle's EEPROM serial (rtl_eeprom -s) so the node opens it by serial
# 4. registers the node with the server (fbsdetect node register) and writes /etc/fbsdetect/node.toml
# 5. creates the system user fbsdetect (in plugdev), installs the unit, logrotate and chrony files,
#    enables and starts the service
# Re-running it is safe; registering again issues new credentials (the old ones stop working).
set -eu

NAME="" SERVER="" ADMIN_TOKEN="" MQTT="" SERIAL="" UPLINK="mqtt" PROFILE="cn"
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
while [ $# -gt 0 ]; do
    case "$1" in
        --name) NAME=$2; shift 2 ;;
        --server) SERVER=$2; shift 2 ;;
        --admin-token) ADMIN_TOKEN=$2; shift 2 ;;
        --mqtt) MQTT=$2; shift 2 ;;
        --serial) SERIAL=$2; shift 2 ;;
        --uplink) UPLINK=$2; shift 2 ;;
        --profile) PROFILE=$2; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "provision.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -n "$NAME" ] && [ -n "$SERVER" ] && [ -n "$ADMIN_TOKEN" ] || { echo "provision.sh: --name, --server and --admin-token are required" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "provision.sh: run as root" >&2; exit 2; }
SERIAL=${SERIAL:-$NAME}
[ -n "$MQTT" ] || MQTT="mqtts://$(echo "$SERVER" | sed -E 's#^[a-z]+://([^/:]+).*#\1#'):8883"

echo "== packages"
apt-get update -q
apt-get install -y -q python3-venv python3-dev rtl-sdr chrony logrotate
if [ ! -x /opt/fbsdetect/venv/bin/fbsdetect ]; then
    python3 -m venv /opt/fbsdetect/venv
fi
/opt/fbsdetect/venv/bin/pip install -q "$REPO[sdr,server]"
mkdir -p /opt/fbsdetect && cp -r "$HERE" /opt/fbsdetect/firmware

echo "== udev rules and DVB-T blacklist"
install -m 0644 "$REPO/udev/99-fbsdetect-rtlsdr.rules" /etc/udev/rules.d/
install -m 0644 "$REPO/udev/blacklist-rtl28xxu.conf" /etc/modprobe.d/
modprobe -r dvb_usb_rtl28xxu 2>/dev/null || true
udevadm control --reload && udevadm trigger

echo "== dongle serial"
if rtl_eeprom 2>&1 | grep -q "Serial number:.*$SERIAL"; then
    echo "serial is $SERIAL already"
else
    # rtl_eeprom asks for confirmation; the new serial is read after the dongle is replugged
    yes | rtl_eeprom -s "$SERIAL" || echo "rtl_eeprom failed: is exactly one dongle plugged in?" >&2
    echo "replug the dongle for the serial $SERIAL to take effect"
fi

echo "== user"
id fbsdetect >/dev/null 2>&1 || useradd --system --home /var/lib/fbsdetect --shell /usr/sbin/nologin fbsdetect
usermod -aG plugdev fbsdetect
install -d -o fbsdetect -g fbsdetect -m 0750 /var/lib/fbsdetect /var/lib/fbsdetect/iq
install -d -m 0755 /etc/fbsdetect

echo "== registration with $SERVER"
CREDS=$(/opt/fbsdetect/venv/bin/fbsdetect node register "$NAME" --server "$SERVER" --token "$ADMIN_TOKEN")
field() { echo "$CREDS" | /opt/fbsdetect/venv/bin/python -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
TOKEN=$(field token)
MQTT_PASSWORD=$(field mqtt_password)
umask 027
sed -e "s#^node = .*#node = \"$NAME\"#" \
    -e "s#^server = .*#server = \"$SERVER\"#" \
    -e "s#^token = .*#token = \"$TOKEN\"#" \
    -e "s#^uplink = .*#uplink = \"$UPLINK\"#" \
    -e "s#^mqtt = .*#mqtt = \"$MQTT\"#" \
    -e "s#^mqtt_password = .*#mqtt_password = \"$MQTT_PASSWORD\"#" \
    -e "s#^source = .*#source = \"rtlsdr:$SERIAL\"#" \
    -e "s#^profile = .*#profile = \"$PROFILE\"#" \
    "$HERE/node.toml" > /etc/fbsdetect/node.toml
chown root:fbsdetect /etc/fbsdetect/node.toml
chmod 0640 /etc/fbsdetect/node.toml

echo "== service, logrotate, time sync"
install -m 0644 "$HERE/systemd/fbsdetect-node.service" /etc/systemd/system/
install -m 0644 "$HERE/logrotate/fbsdetect" /etc/logrotate.d/fbsdetect
install -d /etc/chrony/conf.d && install -m 0644 "$HERE/chrony/fbsdetect.conf" /etc/chrony/conf.d/
systemctl restart chrony || true
systemctl daemon-reload
systemctl enable --now fbsdetect-node.service
echo "== done: journalctl -u fbsdetect-node -f"
