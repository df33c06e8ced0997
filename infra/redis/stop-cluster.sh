#!/usr/bin/env bash
# Stops the three nodes start-cluster.sh started for the same REDIS_CLUSTER_PORT / REDIS_CLUSTER_DIR.
# --wipe also deletes their data (and so the cluster's configuration).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
base="${REDIS_CLUSTER_PORT:-7391}"
[[ "$base" =~ ^[0-9]{1,5}$ ]] || { printf '[redis] error: REDIS_CLUSTER_PORT must be a TCP port\n' >&2; exit 1; }
dir="${REDIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/rwkvstream-redis-cluster-${base}}"
for port in "$base" "$((base + 1))" "$((base + 2))"; do
  REDIS_PORT="$port" REDIS_DATA_DIR="${dir}/node-${port}" "${here}/stop.sh" "$@"
done
