#!/usr/bin/env bash
# Starts a Redis Cluster of three masters that, like a managed one, speaks only TLS (client ports and the
# cluster bus), requires a client certificate signed by its CA, and serves only the logged-in ACL user
# "rwkvstream" (the default user is off). Certificates and password are made as by start-secure.sh (secrets.sh);
# the nodes are started and the cluster formed by start-cluster.sh.
#
# stdout: the settings a worker needs, one VARIABLE=value a line (no secret: the password is in a file):
#   REDIS_URL=rediss://127.0.0.1:7401   REDIS_CLUSTER=true   REDIS_USERNAME=rwkvstream
#   REDIS_PASSWORD_FILE=<dir>/password  REDIS_TLS_CA_FILE=<dir>/ca.crt
#   REDIS_TLS_CERT_FILE=<dir>/client.crt  REDIS_TLS_KEY_FILE=<dir>/client.key
# so `set -a; eval "$(infra/redis/start-cluster-secure.sh)"; set +a` configures the shell.
# Idempotent; --fresh wipes the nodes' data (the certificates and password stay). stop-cluster-secure.sh stops it.
#
# Environment (all optional):
#   REDIS_CLUSTER_PORT   port of the first node, default 7401 (the others take the next two; the bus port + 10000),
#                        clear of start-cluster.sh's 7391-7393 and its test's 7491-7493
#   REDIS_CLUSTER_DIR    directory of the nodes' data, default ${TMPDIR:-/tmp}/rwkvstream-redis-cluster-secure-<port>
#   REDIS_SECRETS_DIR    certificates, keys and password, default <cluster dir>.secrets (mode 0700)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export REDIS_CLUSTER_PORT="${REDIS_CLUSTER_PORT:-7401}"
export REDIS_CLUSTER_DIR="${REDIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/rwkvstream-redis-cluster-secure-${REDIS_CLUSTER_PORT}}"
secrets="${REDIS_SECRETS_DIR:-${REDIS_CLUSTER_DIR}.secrets}"
user=rwkvstream

log() { printf '[redis] %s\n' "$*" >&2; }
die() { printf '[redis] error: %s\n' "$*" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR source=secrets.sh
source "${here}/secrets.sh"
make_redis_secrets "$secrets" "$user"

url="$(REDIS_TLS_DIR="$secrets" REDIS_ACL_FILE="${secrets}/users.acl" REDIS_TLS_AUTH_CLIENTS=yes \
  REDIS_USERNAME="$user" REDIS_PASSWORD_FILE="${secrets}/password" "${here}/start-cluster.sh" "$@")"
printf 'REDIS_CLUSTER=true\n'
print_redis_settings "$url" "$user" "$secrets"
