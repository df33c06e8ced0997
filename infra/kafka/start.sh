#!/usr/bin/env bash
# Starts a single-node Apache Kafka broker (KRaft, broker+controller in one JVM) on 127.0.0.1
# for local runs and tests, and waits until it answers Metadata requests.
#
# stdout: only the bootstrap address (e.g. 127.0.0.1:39092), so callers can do
#   KAFKA_BROKERS="$(infra/kafka/start.sh)"
# stderr: progress, and the log tail on failure.
#
# Idempotent: when the broker this user started with this script for the same data directory is
# already up, it just prints the address. --fresh stops it (if running) and wipes its data first.
# Ownership: a pid file in the data directory and an owner record in the per-user state directory
# (${XDG_STATE_HOME:-~/.local/state}/rwkvstream, or RWKVSTREAM_STATE_DIR). Another user's broker, even
# from the same data directory, is never reused, stopped or wiped; a port held by anything else is
# reported with its pid and command line.
#
# Environment (all optional):
#   KAFKA_VERSION          3.9.1 (default) or a 4.x version such as 4.1.1
#   KAFKA_PORT             client listener port, default 39092
#   KAFKA_CONTROLLER_PORT  controller listener port, default KAFKA_PORT + 1
#   KAFKA_DATA_DIR         state directory (config, data, pid, log),
#                          default ${TMPDIR:-/tmp}/rwkvstream-kafka-<KAFKA_PORT>
#   KAFKA_HEAP_OPTS        JVM heap flags, default "-Xms256m -Xmx512m"
#   KAFKA_START_TIMEOUT    seconds to wait for readiness, default 60
#   KAFKA_LIBS_ROOT        where jars are cached, default infra/kafka/.libs
#   KAFKA_SASL_SSL_PORT    also listen with SASL_SSL (SCRAM-SHA-512) on this port (start-secure.sh sets it,
#                          with KAFKA_SECRETS_DIR: broker.p12, keystore-password, scram-user, scram-password)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
}

fresh=false
for arg in "$@"; do
  case "$arg" in
    --fresh) fresh=true ;;
    -h | --help) usage; exit 0 ;;
    *) usage; die "unknown argument '$arg'" ;;
  esac
done

validate_port KAFKA_PORT "$KAFKA_PORT"
validate_port KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
[[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
[[ "$START_TIMEOUT" =~ ^[0-9]+$ ]] || die "KAFKA_START_TIMEOUT must be whole seconds"
read -r -a HEAP_OPTS <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"

command -v "$KAFKA_JAVA" >/dev/null || die "java not found (need JDK 17+; set JAVA_HOME or install openjdk-17-jre-headless)"

start_ns="$(date +%s%N)"
elapsed() { printf '%d.%03d s' $((($(date +%s%N) - start_ns) / 1000000000)) $(((($(date +%s%N) - start_ns) / 1000000) % 1000)); }

# Serialise concurrent start.sh calls for the same data directory (parallel test runners):
# the second one waits and then takes the idempotent path. The lock lives beside the data
# directory because --fresh deletes the directory itself.
mkdir -p -- "$(dirname "$KAFKA_DATA_DIR")"
exec 9>"${KAFKA_DATA_DIR}.lock"
flock -w 120 9 || die "another start.sh for $KAFKA_DATA_DIR holds the lock for over 120 s"

if [[ "$fresh" == true ]]; then
  # Pass our own settings on explicitly: stop.sh derives the same paths from them.
  KAFKA_PORT="$KAFKA_PORT" KAFKA_DATA_DIR="$KAFKA_DATA_DIR" "${KAFKA_SCRIPT_DIR}/stop.sh" --wipe
fi

# Readiness: a real Metadata round trip when Node is available (it is wherever the TypeScript
# side runs); otherwise the broker's own "started" log line plus a TCP connect.
have_node=false
command -v node >/dev/null && have_node=true
last_probe_error=""
probe_ready() {
  if [[ "$have_node" == true ]]; then
    last_probe_error="$(node "${KAFKA_SCRIPT_DIR}/ready-check.mjs" "$KAFKA_HOST" "$KAFKA_PORT" 2000 2>&1 >/dev/null)"
  else
    last_probe_error="no 'Kafka Server started' line or no TCP connect yet"
    grep -q 'Kafka Server started' "$KAFKA_LOG_FILE" 2>/dev/null && port_open "$KAFKA_PORT"
  fi
}

# Polls until ready; never sleeps a fixed time. $1 = pid to watch (the broker must stay alive).
wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    alive "$pid" || return 2
    probe_ready && return 0
    sleep 0.2
  done
  return 1
}

show_log_tail() {
  log "last lines of $KAFKA_LOG_FILE:"
  tail -n 40 "$KAFKA_LOG_FILE" >&2 2>/dev/null || true
}

if pid="$(running_pid)"; then
  # Only this user's broker is reused; another user's, even from this directory, is left alone.
  claim_broker "$pid"
  recorded_version="$(cat "$KAFKA_VERSION_FILE" 2>/dev/null || true)"
  [[ -z "$recorded_version" || "$recorded_version" == "$KAFKA_VERSION" ]] ||
    die "a Kafka ${recorded_version} broker (pid ${pid}) already runs on ${KAFKA_BOOTSTRAP}, but ${KAFKA_VERSION} was requested; stop it with infra/kafka/stop.sh"
  log "broker already running (pid ${pid})"
  if wait_ready "$pid"; then
    printf '%s\n' "$KAFKA_BOOTSTRAP"
    exit 0
  fi
  show_log_tail
  die "running broker (pid ${pid}) did not become ready within ${START_TIMEOUT} s: ${last_probe_error}"
fi
rm -f -- "$KAFKA_PID_FILE"

# Fail fast with a clear message instead of letting the JVM die on "Address already in use".
for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" ${KAFKA_SASL_SSL_PORT:+"$KAFKA_SASL_SSL_PORT"}; do
  if port_open "$p"; then
    holder="$(port_holder "$p")" || holder="a process this user cannot see"
    die "port ${p} on 127.0.0.1 is in use by ${holder}, not a broker started from ${KAFKA_DATA_DIR}; it is left alone. If it is a Kafka broker you may use it (KAFKA_BROKERS=127.0.0.1:${p}, and do not stop it); to run your own, set KAFKA_PORT (and KAFKA_CONTROLLER_PORT) to free ports"
  fi
done

if [[ -e "$KAFKA_DATA_DIR" && ! -f "$KAFKA_MARKER_FILE" && -n "$(ls -A -- "$KAFKA_DATA_DIR")" ]]; then
  die "$KAFKA_DATA_DIR exists, is not empty and was not created by this script; choose another KAFKA_DATA_DIR"
fi
mkdir -p -- "$KAFKA_LOG_DIRS"
touch -- "$KAFKA_MARKER_FILE"

# The jars, once it is settled that a broker is to be started here (downloaded on first use).
LIBS_DIR="$("${KAFKA_SCRIPT_DIR}/fetch-libs.sh")"

# A data directory formatted by one Kafka version is not guaranteed to start under another
# (4.x cannot be downgraded to 3.x), so refuse rather than corrupt it.
if [[ -f "$KAFKA_VERSION_FILE" && -f "${KAFKA_LOG_DIRS}/meta.properties" ]]; then
  recorded_version="$(<"$KAFKA_VERSION_FILE")"
  [[ "$recorded_version" == "$KAFKA_VERSION" ]] ||
    die "$KAFKA_DATA_DIR holds Kafka ${recorded_version} data but ${KAFKA_VERSION} was requested; use --fresh or another KAFKA_DATA_DIR"
fi

# --- configuration -----------------------------------------------------------------------------
# Written on every start so that changed ports or settings take effect; the data is untouched.
props_tmp="$(mktemp "${KAFKA_PROPS_FILE}.XXXXXX")"
cat >"$props_tmp" <<EOF
# Generated by infra/kafka/start.sh on each start; edits are overwritten.
# Single node in KRaft mode: this process is both the broker and the only controller.
process.roles=broker,controller
node.id=1
# Static quorum of one voter; storage is formatted without --standalone to match.
controller.quorum.voters=1@${KAFKA_HOST}:${KAFKA_CONTROLLER_PORT}
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://${KAFKA_HOST}:${KAFKA_PORT},CONTROLLER://${KAFKA_HOST}:${KAFKA_CONTROLLER_PORT}${KAFKA_SASL_SSL_PORT:+,SASL_SSL://${KAFKA_HOST}:${KAFKA_SASL_SSL_PORT}}
advertised.listeners=PLAINTEXT://${KAFKA_HOST}:${KAFKA_PORT}${KAFKA_SASL_SSL_PORT:+,SASL_SSL://${KAFKA_HOST}:${KAFKA_SASL_SSL_PORT}}
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${KAFKA_SASL_SSL_PORT:+,SASL_SSL:SASL_SSL}
log.dirs=${KAFKA_LOG_DIRS}

# Internal topics default to replication factor 3, which one broker can never satisfy: consumer
# groups would never get a coordinator and transactions would never start.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# Fewer partitions than the default 50: less startup work and fewer files on a test machine.
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4
# Without this the first consumer of a new group waits 3 s for more members before joining.
group.initial.rebalance.delay.ms=0

# Topics must be created explicitly (admin.createTopics), as on a production cluster, so a
# misspelt topic name fails loudly instead of silently creating a new topic.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1

# Largest record batch the broker accepts: 2 MiB (default is about 1 MiB). Payloads are small
# events and chunk references; model state blobs belong in Redis, not in Kafka messages.
message.max.bytes=2097152
replica.fetch.max.bytes=2097152

# The log cleaner (compaction of __consumer_offsets) reserves 128 MiB of heap by default,
# a quarter of this broker's heap; 32 MiB is plenty here.
log.cleaner.dedupe.buffer.size=33554432
EOF
if [[ -n "${KAFKA_SASL_SSL_PORT:-}" ]]; then
  validate_port KAFKA_SASL_SSL_PORT "$KAFKA_SASL_SSL_PORT"
  [[ -f "${KAFKA_SECRETS_DIR:-}/broker.p12" ]] || die "KAFKA_SASL_SSL_PORT needs KAFKA_SECRETS_DIR with broker.p12 (infra/kafka/start-secure.sh makes it)"
  cat >>"$props_tmp" <<EOF

# Clients log in with SCRAM-SHA-512 over TLS on the SASL_SSL listener; the broker's own traffic (and the
# readiness check) stays on the loopback PLAINTEXT listener.
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=${KAFKA_SECRETS_DIR}/broker.p12
ssl.keystore.password=$(<"${KAFKA_SECRETS_DIR}/keystore-password")
ssl.client.auth=none
EOF
fi
if [[ "$(kafka_major)" -ge 4 ]]; then
  cat >>"$props_tmp" <<'EOF'

# Share groups (4.x) keep state in an internal topic that also defaults to replication factor 3.
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
fi
# mktemp creates 0600; keep it readable like the other files here, unless it holds the keystore's password.
[[ -n "${KAFKA_SASL_SSL_PORT:-}" ]] || chmod 644 -- "$props_tmp"
mv -- "$props_tmp" "$KAFKA_PROPS_FILE"

# Logging: the broker logs to stdout, which goes to $KAFKA_LOG_FILE; the storage tool logs only
# warnings, and to stderr, because its stdout is parsed.
if [[ "$(kafka_major)" -ge 4 ]]; then
  cat >"${KAFKA_DATA_DIR}/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = OUT
# Per-request logging is noise for a test broker.
logger.request.name = kafka.request.logger
logger.request.level = warn
EOF
  cat >"${KAFKA_DATA_DIR}/tools-log4j2.properties" <<'EOF'
status = warn
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = ERR
EOF
  BROKER_LOG_OPTS=("-Dlog4j2.configurationFile=${KAFKA_DATA_DIR}/log4j2.properties")
  TOOLS_LOG_OPTS=("-Dlog4j2.configurationFile=${KAFKA_DATA_DIR}/tools-log4j2.properties")
else
  cat >"${KAFKA_DATA_DIR}/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n
# Per-request logging is noise for a test broker.
log4j.logger.kafka.request.logger=WARN
EOF
  cat >"${KAFKA_DATA_DIR}/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, err
log4j.appender.err=org.apache.log4j.ConsoleAppender
log4j.appender.err.Target=System.err
log4j.appender.err.layout=org.apache.log4j.PatternLayout
log4j.appender.err.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
  BROKER_LOG_OPTS=("-Dlog4j.configuration=file:${KAFKA_DATA_DIR}/log4j.properties")
  TOOLS_LOG_OPTS=("-Dlog4j.configuration=file:${KAFKA_DATA_DIR}/tools-log4j.properties")
fi

# --- storage -----------------------------------------------------------------------------------
# Formatting costs a JVM start, so it runs only when the log directory has never been formatted;
# a restart keeps the cluster id and all topics, offsets and messages.
if [[ ! -f "${KAFKA_LOG_DIRS}/meta.properties" ]]; then
  # Short-lived tool JVMs start faster with only the C1 compiler.
  storage_tool() {
    "$KAFKA_JAVA" -Xmx256m -XX:TieredStopAtLevel=1 "${TOOLS_LOG_OPTS[@]}" \
      -cp "${LIBS_DIR}/*" kafka.tools.StorageTool "$@"
  }
  cluster_id="$(storage_tool random-uuid | tail -n 1)"
  [[ "$cluster_id" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "StorageTool random-uuid returned '$cluster_id'"
  log "formatting ${KAFKA_LOG_DIRS} (cluster id ${cluster_id})"
  if [[ -n "${KAFKA_SASL_SSL_PORT:-}" ]]; then
    # The SCRAM user is created with the storage (KRaft). Its password reaches the tool through a java
    # @argfile (main class and arguments: the launcher expands @files only before the main class), so it
    # never appears on a command line.
    args_file="${KAFKA_SECRETS_DIR}/format.args"
    (umask 077 && printf -- 'kafka.tools.StorageTool\nformat\n-t\n%s\n-c\n%s\n--ignore-formatted\n--add-scram\nSCRAM-SHA-512=[name=%s,password=%s]\n' \
      "$cluster_id" "$KAFKA_PROPS_FILE" "$(<"${KAFKA_SECRETS_DIR}/scram-user")" "$(<"${KAFKA_SECRETS_DIR}/scram-password")" >"$args_file")
    status=0
    "$KAFKA_JAVA" -Xmx256m -XX:TieredStopAtLevel=1 "${TOOLS_LOG_OPTS[@]}" -cp "${LIBS_DIR}/*" "@${args_file}" >&2 || status=$?
    rm -f -- "$args_file"
    ((status == 0)) || die "formatting the storage directory with the SCRAM user failed"
  else
    storage_tool format -t "$cluster_id" -c "$KAFKA_PROPS_FILE" --ignore-formatted >&2 ||
      die "formatting the storage directory failed"
  fi
fi
printf '%s\n' "$KAFKA_VERSION" >"$KAFKA_VERSION_FILE"

# --- launch ------------------------------------------------------------------------------------
# Keep the previous run's log for post-mortems.
[[ -f "$KAFKA_LOG_FILE" ]] && mv -f -- "$KAFKA_LOG_FILE" "${KAFKA_LOG_FILE}.1"

# setsid: the broker gets its own session, so Ctrl-C in the calling terminal or a test runner
# killing its process group does not take it down mid-write. 9>&- keeps the start lock out of
# the long-lived JVM (otherwise the next start.sh would wait on it forever). GC flags are the
# ones Kafka's own kafka-run-class.sh uses.
setsid "$KAFKA_JAVA" "${HEAP_OPTS[@]}" \
  -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
  -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
  "${BROKER_LOG_OPTS[@]}" \
  -cp "${LIBS_DIR}/*" kafka.Kafka "$KAFKA_PROPS_FILE" \
  </dev/null >"$KAFKA_LOG_FILE" 2>&1 9>&- &
pid=$!
printf '%s\n' "$pid" >"$KAFKA_PID_FILE"
record_owner "$KAFKA_OWNER_FILE" "$pid" "$KAFKA_DATA_DIR"
log "started Kafka ${KAFKA_VERSION} (pid ${pid}) on ${KAFKA_BOOTSTRAP}, controller :${KAFKA_CONTROLLER_PORT}; log ${KAFKA_LOG_FILE}"

if wait_ready "$pid"; then
  log "ready after $(elapsed)"
  printf '%s\n' "$KAFKA_BOOTSTRAP"
  exit 0
else
  status=$?
fi
show_log_tail
if ((status == 2)); then
  rm -f -- "$KAFKA_PID_FILE"
  die "broker exited during startup"
fi
# Do not leave a half-started broker behind: a retry should start from a clean process.
KAFKA_PORT="$KAFKA_PORT" KAFKA_DATA_DIR="$KAFKA_DATA_DIR" "${KAFKA_SCRIPT_DIR}/stop.sh" || true
die "broker not ready within ${START_TIMEOUT} s: ${last_probe_error}"
