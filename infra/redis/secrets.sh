# shellcheck shell=bash
# Certificates and credentials of the TLS/ACL servers (start-secure.sh, start-cluster-secure.sh,
# start-sentinel.sh). Sourced, not executed; log/die come from the sourcing script.

# make_redis_secrets DIR USER: on first use, a CA, a server certificate for 127.0.0.1/localhost and a client
# certificate (openssl), and a random password, in DIR (mode 0700); every time, DIR/users.acl with USER on (the
# password's SHA-256 only) and the default user off. Made once: clients keep trusting the same CA across restarts.
make_redis_secrets() {
  local secrets="$1" user="$2" hash
  command -v openssl >/dev/null || die "openssl not found (apt-get install -y openssl)"
  mkdir -p -- "$secrets"
  chmod 700 -- "$secrets"
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
  hash="$(tr -d '\n' <"${secrets}/password" | openssl dgst -sha256 -r | cut -d' ' -f1)"
  (umask 077 && printf 'user default off\nuser %s on #%s ~* &* +@all\n' "$user" "$hash" >"${secrets}/users.acl")
}

# print_redis_settings URL USER SECRETS_DIR: the settings a worker needs, one VARIABLE=value a line (no secret:
# the password stays in its file), for `set -a; eval "$(...)"; set +a`.
print_redis_settings() {
  printf 'REDIS_URL=%s\nREDIS_USERNAME=%s\nREDIS_PASSWORD_FILE=%s\nREDIS_TLS_CA_FILE=%s\nREDIS_TLS_CERT_FILE=%s\nREDIS_TLS_KEY_FILE=%s\n' \
    "$1" "$2" "${3}/password" "${3}/ca.crt" "${3}/client.crt" "${3}/client.key"
}
