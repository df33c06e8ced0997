#!/usr/bin/env bash
# Stops the Kafka broker that infra/kafka/start.sh started for the same KAFKA_PORT /
# KAFKA_DATA_DIR: SIGTERM (clean shutdown, so the next start needs no log recovery), then
# SIGKILL if it is still alive after KAFKA_STOP_TIMEOUT seconds (default 30).
#
# Idempotent: exits 0 when no such broker runs. Never touches a process it did not start
# (the pid file is checked against the process command line), nor another user's broker.
#
# --wipe  also delete the data directory (topics, offsets, config, logs).
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

STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
[[ "$STOP_TIMEOUT" =~ ^[0-9]+$ ]] || die "KAFKA_STOP_TIMEOUT must be whole seconds"

if pid="$(running_pid)"; then
  # Another user's broker is never stopped (claim_broker exits with the reason).
  claim_broker "$pid"
  log "stopping broker (pid ${pid}) on ${KAFKA_BOOTSTRAP}"
  stop_process "$pid" "$STOP_TIMEOUT"
  log "stopped"
else
  log "no broker started by start.sh is running for ${KAFKA_DATA_DIR}"
fi
rm -f -- "$KAFKA_PID_FILE" "$KAFKA_OWNER_FILE"

if [[ "$wipe" == true ]]; then
  wipe_data_dir
fi
