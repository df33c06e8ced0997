#!/usr/bin/env bash
# Starts a redis-server with infra/redis/redis.conf on 127.0.0.1 and waits until it answers PING.
#
# stdout: only the URL (e.g. redis://127.0.0.1:6390); stderr: progress, log tail on failure.
# Idempotent: when the server this user started with this script for the same data directory is
# already up, it just prints the URL. --fresh stops it (if running) and wipes its data first.
# Ownership: a pid file in the data directory and an owner record in the per-user state directory
# (${XDG_STATE_HOME:-~/.local/state}/rwkvstream, or RWKVSTREAM_STATE_DIR); another user's server is
# never reused, stopped or wiped.
#
# Environment (all optional):
#   REDIS_PORT           port, default 6390 (6379 is left to any system Redis)
#   REDIS_DATA_DIR       data directory (AOF, pid, log), default ${TMPDIR:-/tmp}/rwkvstream-redis-<port>
#   REDIS_MAXMEMORY      memory limit, e.g. 2gb (default: unlimited); writes fail beyond it
#   REDIS_CONF           config file, default infra/redis/redis.conf
#   REDIS_START_TIMEOUT  seconds to wait for PING, default 60 (loading a large AOF takes a while)
#   REDIS_TLS_DIR        TLS only on REDIS_PORT with ca.crt, server.crt, server.key from here (start-secure.sh)
#   REDIS_ACL_FILE       ACL file of the server's users (start-secure.sh)
#   REDIS_TLS_AUTH_CLIENTS  with REDIS_TLS_DIR: "optional" (default) accepts client certificates, "yes" requires
#                        one signed by the CA (start-cluster-secure.sh)
#   REDIS_SENTINEL       "yes": REDIS_CONF is a Sentinel's configuration, run with --sentinel (start-sentinel.sh)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

fresh=false
for arg in "$@"; do
  case "$arg" in
    --fresh) fresh=true ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; exit 0 ;;
    *) die "unknown argument '$arg' (expected --fresh)" ;;
  esac
done

START_TIMEOUT="${REDIS_START_TIMEOUT:-60}"
[[ "$START_TIMEOUT" =~ ^[0-9]+$ ]] || die "REDIS_START_TIMEOUT must be whole seconds"
REDIS_CONF="${REDIS_CONF:-${REDIS_SCRIPT_DIR}/redis.conf}"
[[ -f "$REDIS_CONF" ]] || die "config file $REDIS_CONF not found"

if ! command -v redis-server >/dev/null; then
  # Fresh CI machines may lack it. Installing needs root; never sudo behind the caller's back.
  ((EUID == 0)) || die "redis-server not found; install it (apt-get install -y redis-server)"
  log "redis-server not found; installing the Debian package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y redis-server >&2 || { apt-get update >&2 && apt-get install -y redis-server >&2; } ||
    die "could not install redis-server"
fi

mkdir -p -- "$(dirname "$REDIS_DATA_DIR")"
exec 9>"${REDIS_DATA_DIR}.lock"
flock -w 120 9 || die "another start.sh for $REDIS_DATA_DIR holds the lock for over 120 s"

if [[ "$fresh" == true ]]; then
  REDIS_PORT="$REDIS_PORT" REDIS_DATA_DIR="$REDIS_DATA_DIR" "${REDIS_SCRIPT_DIR}/stop.sh" --wipe
fi

# Polls PING until PONG; a server still loading its AOF answers -LOADING and is not ready yet.
wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    alive "$pid" || return 2
    ping_ok && return 0
    sleep 0.1
  done
  return 1
}

if pid="$(running_pid)"; then
  # Only this user's server is reused; another user's, even from this directory, is left alone.
  claim_redis "$pid"
  log "redis-server already running (pid ${pid})"
  wait_ready "$pid" || die "running redis-server (pid ${pid}) does not answer PING"
  printf '%s\n' "$REDIS_URL"
  exit 0
fi
rm -f -- "$REDIS_PID_FILE"

if port_open "$REDIS_PORT"; then
  holder="$(port_holder "$REDIS_PORT")" || holder="a process this user cannot see"
  die "port ${REDIS_PORT} on 127.0.0.1 is in use by ${holder}, not a redis-server started from ${REDIS_DATA_DIR}; it is left alone. If it is a Redis you may use it (REDIS_URL=${REDIS_URL}, and do not stop it); to run your own, set REDIS_PORT to a free port"
fi

if [[ -e "$REDIS_DATA_DIR" && ! -f "$REDIS_MARKER_FILE" && -n "$(ls -A -- "$REDIS_DATA_DIR")" ]]; then
  die "$REDIS_DATA_DIR exists, is not empty and was not created by this script; choose another REDIS_DATA_DIR"
fi
mkdir -p -- "$REDIS_DATA_DIR"
touch -- "$REDIS_MARKER_FILE"

case "${REDIS_TLS_AUTH_CLIENTS:-optional}" in yes | optional | no) ;; *) die "REDIS_TLS_AUTH_CLIENTS must be yes, optional or no" ;; esac
overrides=(--port "$REDIS_PORT" --dir "$REDIS_DATA_DIR" --daemonize no --logfile "")
if [[ -n "$REDIS_TLS_DIR" ]]; then
  # TLS only: no plaintext port at all. Client certificates are accepted, not required.
  overrides=(--port 0 --tls-port "$REDIS_PORT" --dir "$REDIS_DATA_DIR" --daemonize no --logfile ""
    --tls-cert-file "${REDIS_TLS_DIR}/server.crt" --tls-key-file "${REDIS_TLS_DIR}/server.key"
    --tls-ca-cert-file "${REDIS_TLS_DIR}/ca.crt" --tls-auth-clients "${REDIS_TLS_AUTH_CLIENTS:-optional}")
fi
if [[ -n "$REDIS_ACL_FILE" ]]; then
  overrides+=(--aclfile "$REDIS_ACL_FILE")
fi
if [[ "${REDIS_SENTINEL:-}" == yes ]]; then
  # Sentinel mode; the Sentinel rewrites REDIS_CONF with what it learns (replicas, other Sentinels, epochs).
  overrides=(--sentinel "${overrides[@]}")
fi
if [[ -n "${REDIS_MAXMEMORY:-}" ]]; then
  overrides+=(--maxmemory "$REDIS_MAXMEMORY")
fi

[[ -f "$REDIS_LOG_FILE" ]] && mv -f -- "$REDIS_LOG_FILE" "${REDIS_LOG_FILE}.1"
# Run in the foreground of our own background job (not --daemonize) so that $! is the server's
# pid and startup errors land in the log file; setsid detaches it from the caller's terminal
# and process group; 9>&- keeps the start lock out of the long-lived server.
setsid redis-server "$REDIS_CONF" "${overrides[@]}" </dev/null >"$REDIS_LOG_FILE" 2>&1 9>&- &
pid=$!
printf '%s\n' "$pid" >"$REDIS_PID_FILE"
record_owner "$REDIS_OWNER_FILE" "$pid" "$REDIS_DATA_DIR"
log "started redis-server (pid ${pid}) on 127.0.0.1:${REDIS_PORT}, data ${REDIS_DATA_DIR}"

if wait_ready "$pid"; then
  printf '%s\n' "$REDIS_URL"
  exit 0
else
  status=$?
fi
log "last lines of $REDIS_LOG_FILE:"
tail -n 30 "$REDIS_LOG_FILE" >&2 2>/dev/null || true
if ((status == 2)); then
  rm -f -- "$REDIS_PID_FILE"
  die "redis-server exited during startup"
fi
REDIS_PORT="$REDIS_PORT" REDIS_DATA_DIR="$REDIS_DATA_DIR" "${REDIS_SCRIPT_DIR}/stop.sh" || true
die "redis-server did not answer PING within ${START_TIMEOUT} s"
