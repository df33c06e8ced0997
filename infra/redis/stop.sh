#!/usr/bin/env bash
# Stops the redis-server that infra/redis/start.sh started for the same REDIS_PORT /
# REDIS_DATA_DIR: SIGTERM (Redis fsyncs the AOF and exits cleanly), then SIGKILL after
# REDIS_STOP_TIMEOUT seconds (default 30). Idempotent: exits 0 when no such server runs.
# Never touches another Redis (such as a system one on 6379).
#
# --wipe  also delete the data directory.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

wipe=false
for arg in "$@"; do
  case "$arg" in
    --wipe) wipe=true ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; exit 0 ;;
    *) die "unknown argument '$arg' (expected --wipe)" ;;
  esac
done

STOP_TIMEOUT="${REDIS_STOP_TIMEOUT:-30}"
[[ "$STOP_TIMEOUT" =~ ^[0-9]+$ ]] || die "REDIS_STOP_TIMEOUT must be whole seconds"

if pid="$(running_pid)"; then
  # Another user's server is never stopped (claim_redis exits with the reason).
  claim_redis "$pid"
  log "stopping redis-server (pid ${pid}) on 127.0.0.1:${REDIS_PORT}"
  stop_process "$pid" "$STOP_TIMEOUT"
  log "stopped"
else
  log "no redis-server started by start.sh is running for ${REDIS_DATA_DIR}"
fi
rm -f -- "$REDIS_PID_FILE" "$REDIS_OWNER_FILE"

if [[ "$wipe" == true ]]; then
  wipe_data_dir
fi
