#!/usr/bin/env bash
# Stops the nodes start-cluster-secure.sh started for the same REDIS_CLUSTER_PORT / REDIS_CLUSTER_DIR.
# --wipe also deletes their data (the certificates and password stay in <cluster dir>.secrets).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export REDIS_CLUSTER_PORT="${REDIS_CLUSTER_PORT:-7401}"
export REDIS_CLUSTER_DIR="${REDIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/rwkvstream-redis-cluster-secure-${REDIS_CLUSTER_PORT}}"
exec "${here}/stop-cluster.sh" "$@"
