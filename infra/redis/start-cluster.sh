#!/usr/bin/env bash
# Starts a Redis Cluster of three masters on loopback (no replicas): three redis-servers with
# infra/redis/redis.conf plus cluster mode, each started by start.sh (same ownership and persistence), then
# `redis-cli --cluster create` assigns the 16384 slots once. A cluster already formed is reused. Returns
# once every node serves: cluster_state:ok, all 16384 slots assigned and none failing, the three nodes known.
#
# stdout: only the URL of the first node (e.g. redis://127.0.0.1:7391); use it with REDIS_CLUSTER=true.
# --fresh wipes the nodes' data (and their cluster configuration) first. stop-cluster.sh stops them.
#
# Environment (all optional):
#   REDIS_CLUSTER_PORT   port of the first node, default 7391; the others take the next two (each node
#                        also listens on its port + 10000 for the cluster bus)
#   REDIS_CLUSTER_DIR    directory of the nodes' data directories, default ${TMPDIR:-/tmp}/rwkvstream-redis-cluster-<port>
#   REDIS_CLUSTER_TIMEOUT  seconds to wait for every node to serve, default 60 (restarted nodes of a formed
#                        cluster need a few seconds, more when they were down longer than cluster-node-timeout)
#   REDIS_TLS_DIR, REDIS_ACL_FILE, REDIS_TLS_AUTH_CLIENTS   TLS and ACL users of every node (see start.sh); the
#                        cluster bus speaks TLS too, and the URL printed is rediss:// (start-cluster-secure.sh)
#   REDIS_USERNAME, REDIS_PASSWORD_FILE   with REDIS_ACL_FILE: the login of redis-cli (the password reaches it
#                        through REDISCLI_AUTH, never its command line)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
base="${REDIS_CLUSTER_PORT:-7391}"
[[ "$base" =~ ^[0-9]{1,5}$ ]] && ((base >= 1 && base <= 65533)) || { printf '[redis] error: REDIS_CLUSTER_PORT must be a TCP port\n' >&2; exit 1; }
dir="${REDIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/rwkvstream-redis-cluster-${base}}"
ports=("$base" "$((base + 1))" "$((base + 2))")

log() { printf '[redis] %s\n' "$*" >&2; }
die() { printf '[redis] error: %s\n' "$*" >&2; exit 1; }
command -v redis-cli >/dev/null || die "redis-cli not found (apt-get install -y redis-tools)"
wait_s="${REDIS_CLUSTER_TIMEOUT:-60}"
[[ "$wait_s" =~ ^[0-9]{1,5}$ ]] || die "REDIS_CLUSTER_TIMEOUT must be whole seconds"

fresh=()
for arg in "$@"; do
  case "$arg" in
    --fresh) fresh=(--fresh) ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; exit 0 ;;
    *) die "unknown argument '$arg' (expected --fresh)" ;;
  esac
done

mkdir -p -- "$dir"
# The nodes' configuration: the project's settings plus cluster mode. nodes.conf (the node's view of the
# cluster) lives in each node's data directory, so a wiped node forgets its cluster.
conf="${dir}/cluster.conf"
# TLS (start-cluster-secure.sh): the nodes also talk to each other over TLS on the cluster bus, and redis-cli
# logs in with the client certificate (required when REDIS_TLS_AUTH_CLIENTS=yes).
cli=(redis-cli)
tls_cluster=''
scheme=redis
if [[ -n "${REDIS_TLS_DIR:-}" ]]; then
  cli+=(--tls --cacert "${REDIS_TLS_DIR}/ca.crt" --cert "${REDIS_TLS_DIR}/client.crt" --key "${REDIS_TLS_DIR}/client.key")
  tls_cluster='tls-cluster yes'
  scheme=rediss
fi
auth=''
# Only a cluster with ACL users gets a login (a shell configured for another Redis may carry these variables).
if [[ -n "${REDIS_ACL_FILE:-}" ]]; then
  [[ -n "${REDIS_USERNAME:-}" ]] && cli+=(--user "$REDIS_USERNAME")
  [[ -n "${REDIS_PASSWORD_FILE:-}" ]] && auth="$(tr -d '\n' <"$REDIS_PASSWORD_FILE")"
fi
rcli() {
  if [[ -n "$auth" ]]; then REDISCLI_AUTH="$auth" "${cli[@]}" "$@"; else "${cli[@]}" "$@"; fi
}
cat >"$conf" <<CONF
include ${here}/redis.conf
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 5000
# A node that lost a master's slots keeps serving the other slots' keys.
cluster-require-full-coverage no
${tls_cluster}
CONF

for port in "${ports[@]}"; do
  REDIS_PORT="$port" REDIS_DATA_DIR="${dir}/node-${port}" REDIS_CONF="$conf" "${here}/start.sh" "${fresh[@]}" >/dev/null
done

# One node's CLUSTER INFO field ("" when the node does not answer).
field() { sed -n "s/^$2://p" <<<"$1"; }
info() { rcli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | tr -d '\r'; }
myid() { rcli -h 127.0.0.1 -p "$1" cluster myid 2>/dev/null | tr -d '\r'; }
# The ids of the nodes a node knows (handshakes in progress aside), sorted.
view() { rcli -h 127.0.0.1 -p "$1" cluster nodes 2>/dev/null | tr -d '\r' | awk '$3 !~ /handshake/ {print $1}' | sort | tr '\n' ' '; }
# A node that has joined no cluster: no slot assigned, only itself known.
blank() {
  local i; i="$(info "$1")"
  [[ "$(field "$i" cluster_slots_assigned)" == 0 && "$(field "$i" cluster_known_nodes)" == 1 ]]
}
# One line per node: its state, slots and the nodes it knows, for messages.
states() {
  local port i
  for port in "${ports[@]}"; do
    i="$(info "$port")"
    printf '  127.0.0.1:%s cluster_state:%s, slots assigned %s, ok %s, nodes known %s\n' "$port" \
      "$(field "$i" cluster_state)" "$(field "$i" cluster_slots_assigned)" "$(field "$i" cluster_slots_ok)" "$(field "$i" cluster_known_nodes)" >&2
  done
}
# The cluster serves when every node (not only the first: the others turn ok up to seconds later, and a client
# may ask any of them) says cluster_state:ok, has all 16384 slots assigned and none failing, and knows exactly
# these three nodes: a node left over from an earlier cluster (a wiped and restarted one has a new id) would
# keep the others' slot maps pointing at a node that is gone.
serving() {
  local port i ids="" id
  for port in "${ports[@]}"; do
    id="$(myid "$port")" && [[ -n "$id" ]] || return 1
    ids+="${id}"$'\n'
  done
  ids="$(sort <<<"${ids%$'\n'}" | tr '\n' ' ')"
  for port in "${ports[@]}"; do
    i="$(info "$port")"
    [[ "$(field "$i" cluster_state)" == ok && "$(field "$i" cluster_slots_assigned)" == 16384 &&
      "$(field "$i" cluster_slots_ok)" == 16384 && "$(view "$port")" == "$ids" ]] || return 1
  done
}

blanks=0
for port in "${ports[@]}"; do blank "$port" && blanks=$((blanks + 1)); done
if ((blanks == ${#ports[@]})); then
  log "forming the cluster of 127.0.0.1:${ports[0]}, :${ports[1]}, :${ports[2]}"
  rcli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >&2 ||
    die "redis-cli --cluster create failed (a node may belong to another cluster: use --fresh)"
elif ((blanks > 0)); then
  # Some nodes kept an earlier cluster's configuration (nodes.conf) and others did not: they never agree.
  states
  die "the nodes in ${dir} are half of an earlier cluster (some have joined none); rerun with --fresh to wipe them and form a new one"
fi
# A formed cluster whose nodes (re)started needs a few seconds before every node serves: a restarted master
# waits before it takes writes, and nodes that were down for over cluster-node-timeout are marked failed until
# they have talked again.
deadline=$((SECONDS + 10#$wait_s))
until serving; do
  if ((SECONDS >= deadline)); then
    states
    die "the cluster on 127.0.0.1:${base} did not serve on every node in ${wait_s} s (stale cluster configuration in ${dir}? rerun with --fresh to wipe it)"
  fi
  sleep 0.1
done
printf '%s://127.0.0.1:%s\n' "$scheme" "$base"
