#!/usr/bin/env bash
# Starts a Redis that only speaks TLS and only to a logged-in ACL user, like a managed Redis: a CA and a
# server certificate for 127.0.0.1/localhost (and a client certificate) are made with openssl on first start,
# the user "rwkvstream" gets a random password, and the default user is off. The server itself is started by
# start.sh (same ownership rules, same persistence settings).
#
# stdout: the settings a worker needs, one VARIABLE=value a line (no secret: the password is in a file):
#   REDIS_URL=rediss://127.0.0.1:6394
#   REDIS_USERNAME=rwkvstream
#   REDIS_PASSWORD_FILE=<dir>/password
#   REDIS_TLS_CA_FILE=<dir>/ca.crt
#   (and REDIS_TLS_CERT_FILE / REDIS_TLS_KEY_FILE of a client certificate, for servers that ask for one)
# so `set -a; eval "$(infra/redis/start-secure.sh)"; set +a` configures the shell.
# Idempotent, like start.sh; --fresh wipes the data (the certificates and password stay).
#
# Environment (all optional):
#   REDIS_PORT           TLS port, default 6394 (clear of start.sh's 6390 and the fault suite's 6391, 6392)
#   REDIS_DATA_DIR       data directory, default ${TMPDIR:-/tmp}/rwkvstream-redis-secure-<port>
#   REDIS_SECRETS_DIR    certificates, keys and password, default <data dir>.secrets (mode 0700)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export REDIS_PORT="${REDIS_PORT:-6394}"
export REDIS_DATA_DIR="${REDIS_DATA_DIR:-${TMPDIR:-/tmp}/rwkvstream-redis-secure-${REDIS_PORT}}"
secrets="${REDIS_SECRETS_DIR:-${REDIS_DATA_DIR}.secrets}"
user=rwkvstream

log() { printf '[redis] %s\n' "$*" >&2; }
die() { printf '[redis] error: %s\n' "$*" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR source=secrets.sh
source "${here}/secrets.sh"
make_redis_secrets "$secrets" "$user"

url="$(REDIS_TLS_DIR="$secrets" REDIS_ACL_FILE="${secrets}/users.acl" "${here}/start.sh" "$@")"
print_redis_settings "$url" "$user" "$secrets"
