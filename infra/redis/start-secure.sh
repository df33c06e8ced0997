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
command -v openssl >/dev/null || die "openssl not found (apt-get install -y openssl)"

mkdir -p -- "$secrets"
chmod 700 -- "$secrets"
# Made once: clients keep trusting the same CA across restarts.
if [[ ! -f "${secrets}/ca.crt" ]]; then
  log "making a CA and certificates in ${secrets}"
  (
    cd -- "$secrets"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=rwkvstream test CA" \
      -keyout ca.key -out ca.crt 2>/dev/null
    for who in server client; do
      openssl req -newkey rsa:2048 -nodes -subj "/CN=rwkvstream ${who}" -keyout "${who}.key" -out "${who}.csr" 2>/dev/null
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"${who}.ext"
      openssl x509 -req -in "${who}.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile "${who}.ext" -out "${who}.crt" 2>/dev/null
      rm -f -- "${who}.csr" "${who}.ext"
    done
    chmod 644 ca.crt
  ) || die "openssl could not make the certificates"
fi
if [[ ! -f "${secrets}/password" ]]; then
  (umask 077 && openssl rand -hex 24 >"${secrets}/password")
fi
# The ACL file holds the password's SHA-256, not the password.
hash="$(tr -d '\n' <"${secrets}/password" | openssl dgst -sha256 -r | cut -d' ' -f1)"
(umask 077 && printf 'user default off\nuser %s on #%s ~* &* +@all\n' "$user" "$hash" >"${secrets}/users.acl")

url="$(REDIS_TLS_DIR="$secrets" REDIS_ACL_FILE="${secrets}/users.acl" "${here}/start.sh" "$@")"
printf 'REDIS_URL=%s\nREDIS_USERNAME=%s\nREDIS_PASSWORD_FILE=%s\nREDIS_TLS_CA_FILE=%s\nREDIS_TLS_CERT_FILE=%s\nREDIS_TLS_KEY_FILE=%s\n' \
  "$url" "$user" "${secrets}/password" "${secrets}/ca.crt" "${secrets}/client.crt" "${secrets}/client.key"
