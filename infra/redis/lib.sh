# shellcheck shell=bash disable=SC2034
# Shared settings for start.sh and stop.sh. Sourced, not executed.
# (SC2034: the variables below are used by the scripts that source this file.)

REDIS_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

REDIS_PORT="${REDIS_PORT:-6390}"
if ! [[ "$REDIS_PORT" =~ ^[0-9]{1,5}$ ]] || ((10#$REDIS_PORT < 1 || 10#$REDIS_PORT > 65535)); then
  printf '[redis] error: REDIS_PORT must be a TCP port, got %s\n' "'$REDIS_PORT'" >&2
  exit 1
fi
# TLS only (start-secure.sh sets these): the port is the TLS port, and the directory holds ca.crt,
# server.crt and server.key. With an ACL file the default user is off and clients must log in.
REDIS_TLS_DIR="${REDIS_TLS_DIR:-}"
REDIS_ACL_FILE="${REDIS_ACL_FILE:-}"
if [[ -n "$REDIS_TLS_DIR" ]]; then
  REDIS_URL="rediss://127.0.0.1:${REDIS_PORT}"
else
  REDIS_URL="redis://127.0.0.1:${REDIS_PORT}"
fi
REDIS_DATA_DIR="${REDIS_DATA_DIR:-${TMPDIR:-/tmp}/rwkvstream-redis-${REDIS_PORT}}"
# Absolute and without a trailing slash, so "<dir>.lock" sits beside the directory.
[[ "$REDIS_DATA_DIR" == /* ]] || REDIS_DATA_DIR="${PWD}/${REDIS_DATA_DIR}"
while [[ "$REDIS_DATA_DIR" == */ && "$REDIS_DATA_DIR" != / ]]; do REDIS_DATA_DIR="${REDIS_DATA_DIR%/}"; done
REDIS_PID_FILE="${REDIS_DATA_DIR}/redis.pid"
REDIS_LOG_FILE="${REDIS_DATA_DIR}/redis.log"
# Marker that makes a directory ours: --fresh / --wipe only delete directories carrying it.
REDIS_MARKER_FILE="${REDIS_DATA_DIR}/.rwkvstream-redis"

log() { printf '[redis] %s\n' "$*" >&2; }
die() { printf '[redis] error: %s\n' "$*" >&2; exit 1; }

# shellcheck source=../lib/process.sh
source "${BASH_SOURCE[0]%/*}/../lib/process.sh"

# Prints the recorded pid when that process is alive and is a redis-server on our port
# (redis-server rewrites its title to "redis-server 127.0.0.1:<port>"); fails otherwise.
running_pid() { recorded_pid "$REDIS_PID_FILE" redis-server ":${REDIS_PORT}"; }

# The owner record of this data directory's server in the per-user state directory.
REDIS_OWNER_FILE="$(owner_file redis "$REDIS_DATA_DIR")"

# claim_redis PID: returns when the server is this user's (see claim_running); exits otherwise.
claim_redis() {
  claim_running "redis-server" "$1" "$REDIS_DATA_DIR" "$REDIS_OWNER_FILE" "$REDIS_MARKER_FILE" \
    "To use it, point REDIS_URL at ${REDIS_URL} (and do not stop it); to run your own, set REDIS_PORT and REDIS_DATA_DIR."
}

port_open() {
  # shellcheck disable=SC2016 # $1 is expanded by the inner bash, not here
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# PING over a raw socket, so redis-cli is not required (over TLS it is). A server that asks for a login
# (NOAUTH) is up: the credentials are the client's business.
ping_ok() {
  if [[ -n "$REDIS_TLS_DIR" ]]; then
    local reply
    local cert=()
    # A server that requires client certificates (REDIS_TLS_AUTH_CLIENTS=yes) gets the client's one.
    [[ -f "${REDIS_TLS_DIR}/client.crt" ]] && cert=(--cert "${REDIS_TLS_DIR}/client.crt" --key "${REDIS_TLS_DIR}/client.key")
    reply="$(timeout 2 redis-cli --tls --cacert "${REDIS_TLS_DIR}/ca.crt" "${cert[@]}" -h 127.0.0.1 -p "$REDIS_PORT" PING 2>&1)" || return 1
    [[ "$reply" == PONG* || "$reply" == *NOAUTH* ]]
    return
  fi
  # shellcheck disable=SC2016 # $1 is expanded by the inner bash, not here
  timeout 2 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "PING\r\n" >&3
    IFS= read -r -t 2 reply <&3 || exit 1
    [[ "$reply" == "+PONG"* || "$reply" == "-NOAUTH"* ]]
  ' _ "$REDIS_PORT" 2>/dev/null
}

wipe_data_dir() {
  [[ -e "$REDIS_DATA_DIR" ]] || return 0
  [[ -f "$REDIS_MARKER_FILE" ]] ||
    die "refusing to delete $REDIS_DATA_DIR: it was not created by infra/redis/start.sh"
  rm -rf -- "$REDIS_DATA_DIR"
  log "deleted $REDIS_DATA_DIR"
}
