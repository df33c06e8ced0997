#!/usr/bin/env bash
# Starts a Redis behind Sentinels, all over TLS: one master that speaks only TLS and serves only the ACL user
# "rwkvstream" (as start-secure.sh makes it), and Sentinels (three by default, quorum two) that speak only TLS,
# ask for their own password, watch the master as "rwmain" over TLS and log in to it as that user. Each process
# is started by start.sh (same ownership rules, pid files and logs); certificates and passwords are made as by
# start-secure.sh (secrets.sh), plus the Sentinels' password. Returns once every Sentinel names the master and
# the quorum is reachable.
#
# stdout: the settings a worker needs, one VARIABLE=value a line (no secret: the passwords are in files):
#   REDIS_URL=rediss://rwmain (the Sentinels give the address; the URL gives TLS on)
#   REDIS_SENTINELS=127.0.0.1:26398,...  REDIS_SENTINEL_NAME=rwmain  REDIS_SENTINEL_PASSWORD_FILE=<dir>/sentinel-password
#   REDIS_USERNAME, REDIS_PASSWORD_FILE, REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE
# so `set -a; eval "$(infra/redis/start-sentinel.sh)"; set +a` configures the shell.
# Idempotent; --fresh wipes the master's data and the Sentinels' state. stop-sentinel.sh stops them all.
#
# Environment (all optional):
#   REDIS_SENTINEL_MASTER_PORT  the master's TLS port, default 6398
#   REDIS_SENTINEL_PORT         the first Sentinel's TLS port, default 26398; the others take the next ones
#   REDIS_SENTINEL_COUNT        Sentinels, default 3 (quorum: a majority of them)
#   REDIS_SENTINEL_NAME         the master's name, default rwmain
#   REDIS_SENTINEL_DIR          data of the master and the Sentinels, default ${TMPDIR:-/tmp}/rwkvstream-redis-sentinel-<master port>
#   REDIS_SECRETS_DIR           certificates, keys and passwords, default <sentinel dir>.secrets (mode 0700)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=sentinel-lib.sh
source "${here}/sentinel-lib.sh"
# shellcheck source-path=SCRIPTDIR source=secrets.sh
source "${here}/secrets.sh"

fresh=()
for arg in "$@"; do
  case "$arg" in
    --fresh) fresh=(--fresh) ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; exit 0 ;;
    *) die "unknown argument '$arg' (expected --fresh)" ;;
  esac
done

user=rwkvstream
make_redis_secrets "$secrets" "$user"
if [[ ! -f "${secrets}/sentinel-password" ]]; then
  (umask 077 && openssl rand -hex 24 >"${secrets}/sentinel-password")
fi
password="$(tr -d '\n' <"${secrets}/password")"
sentinel_password="$(tr -d '\n' <"${secrets}/sentinel-password")"
mkdir -p -- "$dir"
chmod 700 -- "$dir"

REDIS_PORT="$master_port" REDIS_DATA_DIR="${dir}/master" REDIS_TLS_DIR="$secrets" REDIS_ACL_FILE="${secrets}/users.acl" \
  "${here}/start.sh" "${fresh[@]}" >/dev/null

# A Sentinel through redis-cli over TLS, logged in with the Sentinels' password (through REDISCLI_AUTH, not argv).
sentinel_cli() {
  local port="$1"
  shift
  REDISCLI_AUTH="$sentinel_password" timeout 5 redis-cli --tls --cacert "${secrets}/ca.crt" --cert "${secrets}/client.crt" \
    --key "${secrets}/client.key" -h 127.0.0.1 -p "$port" "$@" 2>/dev/null | tr -d '\r'
}

for port in "${sentinel_ports[@]}"; do
  conf="${dir}/sentinel-${port}.conf"
  # A running Sentinel owns its configuration file (it rewrites it with what it learns): left alone. A stopped
  # one starts from a fresh file, so a moved master port or a new password is taken up.
  if [[ "${#fresh[@]}" -gt 0 || "$(sentinel_cli "$port" PING)" != PONG ]]; then
    (
      umask 077
      cat >"$conf" <<CONF
bind 127.0.0.1
# Outgoing connections (to the master, its replicas and the other Sentinels) over TLS too.
tls-replication yes
requirepass ${sentinel_password}
sentinel resolve-hostnames no
sentinel monitor ${name} 127.0.0.1 ${master_port} ${quorum}
sentinel auth-user ${name} ${user}
sentinel auth-pass ${name} ${password}
sentinel down-after-milliseconds ${name} 5000
sentinel failover-timeout ${name} 60000
CONF
    )
  fi
  REDIS_PORT="$port" REDIS_DATA_DIR="${dir}/sentinel-${port}" REDIS_CONF="$conf" REDIS_SENTINEL=yes REDIS_TLS_DIR="$secrets" \
    "${here}/start.sh" "${fresh[@]}" >/dev/null
done

# Ready: every Sentinel names the master, and the Sentinels have found each other (a failover could be agreed).
deadline=$((SECONDS + ${REDIS_START_TIMEOUT:-60}))
for port in "${sentinel_ports[@]}"; do
  until [[ "$(sentinel_cli "$port" SENTINEL get-master-addr-by-name "$name" | tr '\n' ' ')" == "127.0.0.1 ${master_port} " ]]; do
    ((SECONDS < deadline)) || die "the Sentinel on 127.0.0.1:${port} does not name the master ${name} (see ${dir}/sentinel-${port}/redis.log)"
    sleep 0.2
  done
done
until [[ "$(sentinel_cli "${sentinel_ports[0]}" SENTINEL ckquorum "$name")" == OK* ]]; do
  ((SECONDS < deadline)) || die "the Sentinels did not reach their quorum of ${quorum}: $(sentinel_cli "${sentinel_ports[0]}" SENTINEL ckquorum "$name")"
  sleep 0.5
done

sentinels="$(printf '127.0.0.1:%s,' "${sentinel_ports[@]}")"
printf 'REDIS_SENTINELS=%s\nREDIS_SENTINEL_NAME=%s\nREDIS_SENTINEL_PASSWORD_FILE=%s\n' "${sentinels%,}" "$name" "${secrets}/sentinel-password"
print_redis_settings "rediss://${name}" "$user" "$secrets"
