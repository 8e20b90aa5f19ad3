#!/usr/bin/env bash
# Installs what README's test command needs when it is missing, and nothing when it is all there.
#
# Debian packages (apt-get):
#   redis-server, gammu-smsd   the tests start private redis-servers and run gammu-smsd with its
#                              dummy driver;
#   systemd, prometheus        systemd-analyze checks the units, promtool the Prometheus config
#                              and the alert rules;
#   chromium, chromium-driver  the status page test drives headless Chromium through WebDriver;
#   python3-venv               only when python3 cannot make a virtualenv.
# Python tools (pip, into a virtualenv at $SIMRELAY_TEST_VENV, by default ~/.cache/simrelay-venv):
#   schemathesis, openapi-spec-validator   the /openapi.json tests.
set -euo pipefail

have() { command -v "$1" >/dev/null; }

packages=()
have redis-server || packages+=(redis-server)
have gammu-smsd || packages+=(gammu-smsd)
have systemd-analyze || packages+=(systemd)
have promtool || packages+=(prometheus)
have chromium || packages+=(chromium)
have chromedriver || packages+=(chromium-driver)
have python3 || packages+=(python3)
{ have python3 && python3 -c 'import ensurepip, venv' 2>/dev/null; } || packages+=(python3-venv)
if [ ${#packages[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
fi

venv="${SIMRELAY_TEST_VENV:-$HOME/.cache/simrelay-venv}"
# A venv whose Python is gone (an upgraded interpreter) is made again.
[ -x "$venv/bin/python" ] && "$venv/bin/python" -c '' 2>/dev/null || python3 -m venv --clear "$venv"
# Exact pins: nothing is downloaded when they are installed already; a changed pin is installed.
"$venv/bin/pip" install -q --disable-pip-version-check \
    'schemathesis==4.32.5' 'openapi-spec-validator==0.7.2'
