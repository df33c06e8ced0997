# shellcheck shell=bash disable=SC2034
# Shared settings of start-sentinel.sh and stop-sentinel.sh. Sourced, not executed.
# (SC2034: the variables below are used by the scripts that source this file.)

log() { printf '[redis] %s\n' "$*" >&2; }
die() { printf '[redis] error: %s\n' "$*" >&2; exit 1; }

port_ok() { [[ "$1" =~ ^[0-9]{1,5}$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535)); }
master_port="${REDIS_SENTINEL_MASTER_PORT:-6398}"
first="${REDIS_SENTINEL_PORT:-26398}"
count="${REDIS_SENTINEL_COUNT:-3}"
name="${REDIS_SENTINEL_NAME:-rwmain}"
port_ok "$master_port" || die "REDIS_SENTINEL_MASTER_PORT must be a TCP port"
[[ "$count" =~ ^[1-9]$ ]] || die "REDIS_SENTINEL_COUNT must be 1 to 9"
port_ok "$first" && port_ok "$((10#$first + count - 1))" || die "REDIS_SENTINEL_PORT must be a TCP port (with room for ${count})"
[[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || die "REDIS_SENTINEL_NAME may hold letters, digits, '.', '_' and '-'"
sentinel_ports=()
for ((i = 0; i < count; i++)); do sentinel_ports+=("$((10#$first + i))"); done
quorum=$((count / 2 + 1))
dir="${REDIS_SENTINEL_DIR:-${TMPDIR:-/tmp}/rwkvstream-redis-sentinel-${master_port}}"
[[ "$dir" == /* ]] || dir="${PWD}/${dir}"
secrets="${REDIS_SECRETS_DIR:-${dir}.secrets}"
