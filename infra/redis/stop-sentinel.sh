#!/usr/bin/env bash
# Stops the Sentinels and the master start-sentinel.sh started for the same ports and REDIS_SENTINEL_DIR (the
# Sentinels first, so they do not see the master go down). --wipe also deletes their data and the Sentinels'
# state (the certificates and passwords stay in <sentinel dir>.secrets).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=sentinel-lib.sh
source "${here}/sentinel-lib.sh"

for arg in "$@"; do
  case "$arg" in
    --wipe) ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; exit 0 ;;
    *) die "unknown argument '$arg' (expected --wipe)" ;;
  esac
done
for port in "${sentinel_ports[@]}"; do
  REDIS_PORT="$port" REDIS_DATA_DIR="${dir}/sentinel-${port}" "${here}/stop.sh" "$@"
  [[ " $* " == *" --wipe "* ]] && rm -f -- "${dir}/sentinel-${port}.conf"
done
REDIS_PORT="$master_port" REDIS_DATA_DIR="${dir}/master" "${here}/stop.sh" "$@"
