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

# --- ownership ------------------------------------------------------------------------------------
# Which servers this user started lives in a per-user state directory: one owner record per server
# (pid, data directory, uid, start time). A server is only reused or stopped by the user who started it,
# even when it runs from the same default data directory under /tmp, which every user shares.
INFRA_STATE_DIR="${RWKVSTREAM_STATE_DIR:-${XDG_STATE_HOME:-${HOME:-/tmp}/.local/state}/rwkvstream}"

# owner_file KIND DATA_DIR: the owner record of the server of that kind and data directory.
owner_file() {
  printf '%s/%s-%s.owner' "$INFRA_STATE_DIR" "$1" "$(printf '%s' "$2" | cksum | cut -d' ' -f1)"
}

# record_owner FILE PID DATA_DIR
record_owner() {
  mkdir -p -- "$INFRA_STATE_DIR"
  printf 'pid=%s\ndata_dir=%s\nuid=%s\nstarted=%s\n' "$2" "$3" "$(id -u)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$1.tmp"
  mv -f -- "$1.tmp" "$1"
}

# owned FILE PID DATA_DIR: true when this user's owner record names that process and directory.
owned() {
  [[ -f "$1" ]] && grep -qx "pid=$2" "$1" && grep -qxF "data_dir=$3" "$1"
}

process_uid() { stat -c %u "/proc/$1" 2>/dev/null; }
user_name() { id -nu "$1" 2>/dev/null || printf 'uid %s' "$1"; }

# claim_running WHAT PID DATA_DIR OWNER_FILE MARKER_FILE USE_HINT: decides whether a server found running from
# our data directory may be treated as ours. Ours when our owner record names it; also when it runs as this
# user from a directory carrying our marker (started by an older version of these scripts, which kept no
# owner record), as those scripts treated it. A server of another user is never taken over: the script
# stops here with the reason.
claim_running() {
  local what="$1" pid="$2" dir="$3" owner="$4" marker="$5" hint="$6" uid
  owned "$owner" "$pid" "$dir" && return 0
  uid="$(process_uid "$pid")"
  if [[ "$uid" == "$(id -u)" && -f "$marker" ]]; then
    log "the ${what} (pid ${pid}) was started by this user from ${dir} with an earlier version of this script (no owner record); treating it as this user's"
    return 0
  fi
  die "the ${what} running from ${dir} (pid ${pid}) was started by $(user_name "$uid"), not by you; it is left alone. ${hint}"
}

# port_holder PORT: "pid N: command line" of the process listening on 127.0.0.1:PORT, when it can be seen.
port_holder() {
  local pid
  pid="$(ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)" || true
  [[ -n "$pid" ]] || return 1
  printf 'pid %s (%s, user %s)' "$pid" "$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | cut -c1-160 | sed 's/ *$//')" "$(user_name "$(process_uid "$pid")")"
}
