#!/usr/bin/env bash
# Restart this machine's smbridge web workers one at a time, without failing a request
# (after an update: new code, new settings). Run it as root on each worker VM in turn.
#
#   deploy/rolling-restart.sh                 every smbridge-hook@* and smbridge-assembly@*
#                                             unit, then smbridge-scheduler if it runs here
#   deploy/rolling-restart.sh --workers-only  the workers, not the scheduler
#
# A stopped worker drains (closes its socket, so nginx sends new requests to the others,
# serves its open connections, finishes in-flight requests). The next worker goes only after
# this one answers 200 on http://HOST:PORT/healthz, and after nginx has had
# NGINX_FAIL_TIMEOUT_SECONDS to take it back into the pool (nginx counted its refused
# connections during the restart and skips it that long). If a worker does not come back,
# the script stops there, with the rest of the pool untouched, and exits 1.
#
# Before anything restarts, `smbridge settings check` must pass on the settings file: a
# misspelt name or a bad value stops the script with every worker untouched (exit 1).
#
# Environment (all optional):
#   SMBRIDGE_ENV_FILE  the settings it checks and reads (default /etc/smbridge/smbridge.env):
#                      SMBRIDGE_WORKER_HOST, SMBRIDGE_NGINX_FAIL_TIMEOUT_SECONDS
#   SMBRIDGE_VENV      the venv whose smbridge checks them (default /opt/smbridge/.venv)
#   HEALTH_HOST        address to check (default SMBRIDGE_WORKER_HOST; 127.0.0.1 for 0.0.0.0)
#   HEALTH_TIMEOUT     seconds a restarted worker has to answer 200 (default 60)
#   REJOIN_SECONDS     pause after a healthy worker (default NGINX_FAIL_TIMEOUT_SECONDS, or 10)
set -euo pipefail

env_file=${SMBRIDGE_ENV_FILE:-/etc/smbridge/smbridge.env}
with_scheduler=1

usage() {
    sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
    echo "rolling-restart: $*" >&2
    exit 1
}

# The value of one SMBRIDGE_* setting in the environment file ("" when absent).
setting() {
    local line value
    [[ -r $env_file ]] || return 0
    line=$(grep -E "^$1=" "$env_file" | tail -n 1) || true
    value=${line#*=}
    value=${value%\"}
    value=${value#\"}
    value=${value%\'}
    value=${value#\'}
    printf '%s' "$value"
}

for argument in "$@"; do
    case $argument in
        --workers-only) with_scheduler=0 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *) die "unknown argument '$argument' (see --help)" ;;
    esac
done

[[ $EUID -eq 0 ]] || die "run it as root (it restarts systemd units)"
command -v curl >/dev/null || die "curl is not installed (apt-get install curl)"
smbridge=${SMBRIDGE_VENV:-/opt/smbridge/.venv}/bin/smbridge
[[ -x $smbridge ]] || die "no $smbridge (set SMBRIDGE_VENV to the release's venv)"
"$smbridge" settings check --env-file "$env_file" >/dev/null ||
    die "the settings in $env_file do not pass 'smbridge settings check' (above); nothing was restarted"

host=${HEALTH_HOST:-$(setting SMBRIDGE_WORKER_HOST)}
case $host in
    "" | 0.0.0.0) host=127.0.0.1 ;;
    :: | "[::]") host="[::1]" ;;
    \[*) ;;
    *:*) host="[$host]" ;; # an IPv6 address in a URL
esac
health_timeout=${HEALTH_TIMEOUT:-60}
rejoin=${REJOIN_SECONDS:-$(setting SMBRIDGE_NGINX_FAIL_TIMEOUT_SECONDS)}
rejoin=${rejoin:-10}
[[ $health_timeout =~ ^[0-9]+$ ]] || die "HEALTH_TIMEOUT must be whole seconds, not '$health_timeout'"
[[ $rejoin =~ ^[0-9]+$ ]] || die "REJOIN_SECONDS must be whole seconds, not '$rejoin'"

# The worker instances systemd knows here (running, enabled or failed), hook pool first,
# each pool by port.
mapfile -t units < <(
    systemctl list-units --all --plain --no-legend --type=service \
        'smbridge-hook@*.service' 'smbridge-assembly@*.service' |
        awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^smbridge-(hook|assembly)@[0-9]+\.service$/) print $i }' |
        sort -t @ -k 1,1r -k 2n
)
workers=()
for unit in "${units[@]}"; do
    if systemctl is-enabled --quiet "$unit" || systemctl is-active --quiet "$unit"; then
        workers+=("$unit")
    fi
done
((${#workers[@]} > 0)) || die "no enabled or running smbridge-hook@PORT or smbridge-assembly@PORT units here"

# Wait until http://$host:$1/healthz answers 200, at most $health_timeout seconds.
healthy_within_deadline() {
    local url="http://$host:$1/healthz" deadline=$((SECONDS + health_timeout))
    while ((SECONDS < deadline)); do
        if [[ $(curl --silent --output /dev/null --write-out '%{http_code}' --max-time 2 "$url") == 200 ]]; then
            return 0
        fi
        sleep 0.5
    done
    return 1
}

echo "rolling-restart: ${#workers[@]} workers, one at a time; health on $host, ${rejoin} s for nginx between them"
for i in "${!workers[@]}"; do
    unit=${workers[$i]}
    port=${unit#*@}
    port=${port%.service}
    echo "rolling-restart: [$((i + 1))/${#workers[@]}] restarting $unit"
    started=$SECONDS
    if ! systemctl restart "$unit"; then
        die "systemctl restart $unit failed; the workers after it were not restarted. See: journalctl -u $unit -n 50"
    fi
    if ! healthy_within_deadline "$port"; then
        die "$unit did not answer 200 on http://$host:$port/healthz within ${health_timeout} s; the workers after it were not restarted. See: systemctl status $unit; journalctl -u $unit -n 50"
    fi
    echo "rolling-restart: $unit is back after $((SECONDS - started)) s"
    if ((i + 1 < ${#workers[@]})); then
        sleep "$rejoin" # nginx takes the worker back before the next one goes
    fi
done

if ((with_scheduler)) && systemctl is-active --quiet smbridge-scheduler.service; then
    echo "rolling-restart: restarting smbridge-scheduler.service (jobs pause for its restart only)"
    systemctl restart smbridge-scheduler.service ||
        die "systemctl restart smbridge-scheduler.service failed. See: journalctl -u smbridge-scheduler -n 50"
    sleep 3
    systemctl is-active --quiet smbridge-scheduler.service ||
        die "smbridge-scheduler.service is not running after its restart. See: journalctl -u smbridge-scheduler -n 50"
fi
echo "rolling-restart: done"
