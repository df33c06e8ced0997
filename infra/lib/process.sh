# Process handling shared by infra/kafka and infra/redis (sourced by their lib.sh; log/die come from there).

# True while the process exists and is not a zombie. Zombies matter in containers whose
# init does not reap orphans: kill -0 succeeds on them forever.
alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ "$state" != Z ]]
}

# Prints the pid recorded in pid file $1 when that process is alive and its command line
# contains every further argument (pid files outlive reboots and pids get reused); fails otherwise.
recorded_pid() {
  local file="$1" pid cmdline part
  shift
  [[ -f "$file" ]] || return 1
  pid="$(<"$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  cmdline="$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null)" || return 1
  for part in "$@"; do
    [[ "$cmdline" == *"$part"* ]] || return 1
  done
  printf '%s\n' "$pid"
}

# stop_process PID TIMEOUT [NOTE]: SIGTERM (a clean shutdown), then SIGKILL once TIMEOUT
# seconds have passed; NOTE says what a SIGKILL costs. Returns once the process is gone.
stop_process() {
  local pid="$1" timeout="$2" note="${3:-}" deadline
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + timeout))
  while alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.1
  done
  if alive "$pid"; then
    log "still running after ${timeout} s; sending SIGKILL${note:+ ($note)}"
    kill -KILL "$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 0.1; done
  fi
}
