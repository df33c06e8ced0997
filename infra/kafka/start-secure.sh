#!/usr/bin/env bash
# Starts a broker that clients reach only with SASL_SSL, like a managed Kafka: a CA and a broker certificate
# for 127.0.0.1/localhost are made with openssl (and packed into a PKCS12 keystore) on first start, and the
# SCRAM-SHA-512 user "rwkvstream" with a random password is created when the storage is formatted. The broker
# itself is started by start.sh (same ownership rules); its PLAINTEXT listener on KAFKA_PORT serves only the
# broker's own traffic and the readiness check.
#
# stdout: the settings a worker needs, one VARIABLE=value a line (no secret: the password is in a file):
#   KAFKA_BROKERS=127.0.0.1:39294
#   KAFKA_TLS_CA_FILE=<dir>/ca.crt
#   KAFKA_SASL_MECHANISM=scram-sha-512
#   KAFKA_SASL_USERNAME=rwkvstream
#   KAFKA_SASL_PASSWORD_FILE=<dir>/scram-password
# so `set -a; eval "$(infra/kafka/start-secure.sh)"; set +a` configures the shell.
# Idempotent, like start.sh; --fresh wipes the broker's data (the certificates and password stay).
#
# Environment (all optional):
#   KAFKA_SASL_SSL_PORT    the SASL_SSL listener, default 39294
#   KAFKA_PORT             the broker's PLAINTEXT listener, default 39292 (controller: KAFKA_PORT + 1); the
#                          defaults stay clear of the shared broker (39092) and the fault suite's (39192)
#   KAFKA_DATA_DIR         default ${TMPDIR:-/tmp}/rwkvstream-kafka-secure-<KAFKA_PORT>
#   KAFKA_SECRETS_DIR      CA, keystore and passwords, default <data dir>.secrets (mode 0700)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export KAFKA_PORT="${KAFKA_PORT:-39292}"
export KAFKA_SASL_SSL_PORT="${KAFKA_SASL_SSL_PORT:-39294}"
export KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-${TMPDIR:-/tmp}/rwkvstream-kafka-secure-${KAFKA_PORT}}"
export KAFKA_SECRETS_DIR="${KAFKA_SECRETS_DIR:-${KAFKA_DATA_DIR}.secrets}"
secrets="$KAFKA_SECRETS_DIR"

log() { printf '[kafka] %s\n' "$*" >&2; }
die() { printf '[kafka] error: %s\n' "$*" >&2; exit 1; }
command -v openssl >/dev/null || die "openssl not found (apt-get install -y openssl)"

mkdir -p -- "$secrets"
chmod 700 -- "$secrets"
if [[ ! -f "${secrets}/broker.p12" ]]; then
  log "making a CA and the broker's keystore in ${secrets}"
  (
    cd -- "$secrets"
    umask 077
    openssl rand -hex 24 >keystore-password
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=rwkvstream test CA" -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=rwkvstream broker" -keyout broker.key -out broker.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile broker.ext -out broker.crt 2>/dev/null
    openssl pkcs12 -export -in broker.crt -inkey broker.key -certfile ca.crt -name broker \
      -passout "file:keystore-password" -out broker.p12
    rm -f -- broker.csr broker.ext broker.key
    chmod 644 ca.crt
  ) || die "openssl could not make the certificates"
fi
[[ -f "${secrets}/scram-user" ]] || printf 'rwkvstream\n' >"${secrets}/scram-user"
[[ -f "${secrets}/scram-password" ]] || (umask 077 && openssl rand -hex 24 >"${secrets}/scram-password")
# A broker formatted before the user existed would never know it.
if [[ -f "${KAFKA_DATA_DIR}/data/meta.properties" && ! -f "${secrets}/.formatted-with-scram" && " $* " != *" --fresh "* ]]; then
  die "${KAFKA_DATA_DIR} was formatted without the SCRAM user; start with --fresh"
fi

"${here}/start.sh" "$@" >/dev/null
touch -- "${secrets}/.formatted-with-scram"
printf 'KAFKA_BROKERS=127.0.0.1:%s\nKAFKA_TLS_CA_FILE=%s\nKAFKA_SASL_MECHANISM=scram-sha-512\nKAFKA_SASL_USERNAME=%s\nKAFKA_SASL_PASSWORD_FILE=%s\n' \
  "$KAFKA_SASL_SSL_PORT" "${secrets}/ca.crt" "$(<"${secrets}/scram-user")" "${secrets}/scram-password"
