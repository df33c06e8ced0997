#!/usr/bin/env bash
# The CLI's start-up: wall time (median of N runs) and peak memory (the largest maximum resident set size of
# the runs, from /usr/bin/time -v) of `--version`, `--help` and `summarize --help`, beside a bare `node -e 0`.
# The commands take turns within each round, so a machine whose load changes during the measurement weighs on
# all of them alike. Usage: bench/startup.sh [ENTRY...] (default: the compiled dist/services/cli/main.js; give
# bin/rwkvstream.mjs too to compare with the sources run through tsx). RUNS=N sets the rounds (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}
[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }
entries=("$@")
[ ${#entries[@]} -gt 0 ] || entries=(dist/services/cli/main.js)

labels=('node -e 0')
commands=('node -e 0')
for entry in "${entries[@]}"; do
  [ -f "$entry" ] || { echo "$entry is missing (npm run build makes dist/)" >&2; exit 1; }
  for args in '--version' '--help' 'summarize --help'; do
    labels+=("$entry $args")
    commands+=("node $entry $args")
  done
done

declare -A ms rss
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for ((round = 0; round < runs; round++)); do
  for i in "${!commands[@]}"; do
    start=$(date +%s%N)
    # shellcheck disable=SC2086 # the command is split into its words on purpose
    /usr/bin/time -v -o "$tmp" ${commands[$i]} >/dev/null 2>&1 || { echo "failed: ${commands[$i]}" >&2; exit 1; }
    ms[$i]+="$(( ($(date +%s%N) - start) / 1000000 )) "
    kb=$(awk -F': ' '/Maximum resident/ {print $2}' "$tmp")
    if (( kb > ${rss[$i]:-0} )); then rss[$i]=$kb; fi
  done
done

printf '%-60s %10s %10s\n' command 'median ms' 'max RSS MB'
for i in "${!commands[@]}"; do
  median=$(tr ' ' '\n' <<<"${ms[$i]}" | grep . | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
  printf '%-60s %10s %10d\n' "${labels[$i]}" "$median" "$(( ${rss[$i]} / 1024 ))"
done
