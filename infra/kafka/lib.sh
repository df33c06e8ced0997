# shellcheck shell=bash disable=SC2034
# (SC2034: the variables below are used by the scripts that source this file.)
# Shared settings for fetch-libs.sh, start.sh and stop.sh. Sourced, not executed.
#
# Every script derives the same paths from the same environment variables, so stop.sh finds
# the broker that start.sh started as long as both see the same KAFKA_PORT / KAFKA_DATA_DIR.

KAFKA_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
KAFKA_PORT="${KAFKA_PORT:-39092}"
# Checked here, before the arithmetic below would treat a non-number as a variable name.
if ! [[ "$KAFKA_PORT" =~ ^[0-9]{1,5}$ ]]; then
  printf '[kafka] error: KAFKA_PORT must be a TCP port, got %s\n' "'$KAFKA_PORT'" >&2
  exit 1
fi
# Default the controller port to the broker port + 1 so that two brokers started with only
# different KAFKA_PORT values never collide on the controller listener.
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((10#$KAFKA_PORT + 1))}"
KAFKA_HOST="127.0.0.1"
KAFKA_BOOTSTRAP="${KAFKA_HOST}:${KAFKA_PORT}"

# All per-broker state (config, data, pid, log) lives in one directory keyed by port, so
# brokers on different ports are fully independent.
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-${TMPDIR:-/tmp}/rwkvstream-kafka-${KAFKA_PORT}}"
# Absolute and without a trailing slash: the path is written into server.properties, matched
# against the broker's command line, and "<dir>.lock" must sit beside the directory.
[[ "$KAFKA_DATA_DIR" == /* ]] || KAFKA_DATA_DIR="${PWD}/${KAFKA_DATA_DIR}"
while [[ "$KAFKA_DATA_DIR" == */ && "$KAFKA_DATA_DIR" != / ]]; do KAFKA_DATA_DIR="${KAFKA_DATA_DIR%/}"; done
KAFKA_PID_FILE="${KAFKA_DATA_DIR}/kafka.pid"
KAFKA_LOG_FILE="${KAFKA_DATA_DIR}/kafka.log"
KAFKA_PROPS_FILE="${KAFKA_DATA_DIR}/server.properties"
KAFKA_LOG_DIRS="${KAFKA_DATA_DIR}/data"
KAFKA_VERSION_FILE="${KAFKA_DATA_DIR}/kafka.version"
# Marker that makes a directory ours: --fresh / --wipe only delete directories carrying it,
# so a mistyped KAFKA_DATA_DIR can never make us delete someone else's files.
KAFKA_MARKER_FILE="${KAFKA_DATA_DIR}/.rwkvstream-kafka"

# Jars are cached per Kafka version; CI may point this at a cached directory.
KAFKA_LIBS_ROOT="${KAFKA_LIBS_ROOT:-${KAFKA_SCRIPT_DIR}/.libs}"
KAFKA_LIBS_DIR="${KAFKA_LIBS_ROOT}/${KAFKA_VERSION}/libs"
KAFKA_LIBS_STAMP="${KAFKA_LIBS_ROOT}/${KAFKA_VERSION}/.complete"

KAFKA_JAVA="${JAVA_HOME:+${JAVA_HOME}/bin/}java"

# Progress and errors go to stderr: stdout of start.sh carries only the bootstrap address.
log() { printf '[kafka] %s\n' "$*" >&2; }
die() { printf '[kafka] error: %s\n' "$*" >&2; exit 1; }

kafka_major() { printf '%s' "${KAFKA_VERSION%%.*}"; }

validate_port() {
  local name="$1" value="$2"
  if ! [[ "$value" =~ ^[0-9]{1,5}$ ]] || ((10#$value < 1 || 10#$value > 65535)); then
    die "$name must be a TCP port, got '$value'"
  fi
}

# shellcheck source=../lib/process.sh
source "${BASH_SOURCE[0]%/*}/../lib/process.sh"

# Prints the pid of the broker recorded for this data directory when that process is alive
# and really is a broker started from it; fails otherwise. Whose it is, is claim_broker's question.
running_pid() { recorded_pid "$KAFKA_PID_FILE" kafka.Kafka "$KAFKA_PROPS_FILE"; }

# The owner record of this data directory's broker in the per-user state directory.
KAFKA_OWNER_FILE="$(owner_file kafka "$KAFKA_DATA_DIR")"

# claim_broker PID: returns when the broker is this user's (see claim_running); exits otherwise.
claim_broker() {
  claim_running "Kafka broker" "$1" "$KAFKA_DATA_DIR" "$KAFKA_OWNER_FILE" "$KAFKA_MARKER_FILE" \
    "To use it, point KAFKA_BROKERS at ${KAFKA_BOOTSTRAP} (and do not stop it); to run your own, set KAFKA_PORT and KAFKA_DATA_DIR."
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  # shellcheck disable=SC2016 # $1 is expanded by the inner bash, not here
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# Deletes the data directory, but only if it carries our marker.
wipe_data_dir() {
  [[ -e "$KAFKA_DATA_DIR" ]] || return 0
  [[ -f "$KAFKA_MARKER_FILE" ]] ||
    die "refusing to delete $KAFKA_DATA_DIR: it was not created by infra/kafka/start.sh"
  rm -rf -- "$KAFKA_DATA_DIR"
  log "deleted $KAFKA_DATA_DIR"
}
