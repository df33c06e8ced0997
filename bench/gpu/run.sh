#!/usr/bin/env bash
# Runs the product's GPU measurements from the kit bench/gpu/pack.sh made (.gpu-kit), on a machine without
# Node, Redis or a network: unpacks node, the production node_modules, the addon, rwkv_bench, redis-server
# and the World vocabulary into a work folder beside a copy of the project's sources, starts Redis there,
# and runs bench/gpu/measure.ts (embedded summarize vs rwkv_bench prefill, the worker with Redis vs the
# batched prefill, generation vs the bench's decode). Results: gpu-results.json and gpu-results.md in $OUT.
#
#   bench/gpu/run.sh [--device cuda|cpu] [--small] [measure.ts options ...]
#   KIT_DIR      the kit (default <repo>/.gpu-kit)
#   WORK_DIR     where it is unpacked, models and documents written (default /tmp/rwkvstream-gpu)
#   OUT          where the results go (default $WORK_DIR/out)
#   BUDGET_S     seconds per measurement step at most (default 150)
#   TOTAL_S      seconds for all the measurement steps (default 420, so unpacking and all fit in ~8 minutes)
#   REDIS_PORT   port of the Redis started here (default 6391)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
kit="${KIT_DIR:-$repo/.gpu-kit}"
work="${WORK_DIR:-/tmp/rwkvstream-gpu}"
out="${OUT:-$work/out}"
port="${REDIS_PORT:-6391}"
device=cuda
small=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --small) small=1; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
say() { echo "[run] $*" >&2; }
[ -f "$kit/manifest.json" ] || { say "no kit in $kit: run bench/gpu/pack.sh first"; exit 1; }
mkdir -p "$out"
exec > >(tee "$out/run.log") 2>&1

t0=$(date +%s)
app="$work/app"
rm -rf "$app" "$work/bin" "$work/redis"
mkdir -p "$app/native/build" "$work/bin" "$work/data"
# The sources that run (tsx compiles them on load), the production dependencies and the addon at the place
# the engine looks for it.
for d in bin engine services pipelines schemas bench; do cp -r "$repo/$d" "$app/"; done
cp "$repo/package.json" "$repo/tsconfig.json" "$app/"
tar -C "$app" -xJf "$kit/node_modules.tar.xz"
xz -dc "$kit/rwkv.node.xz" > "$app/native/build/rwkv.node"
xz -dc "$kit/node.xz" > "$work/bin/node"
xz -dc "$kit/rwkv_bench.xz" > "$work/bin/rwkv_bench"
chmod +x "$work/bin/node" "$work/bin/rwkv_bench"
tar -C "$work" -xJf "$kit/redis.tar.xz"
xz -dc "$kit/rwkv_vocab_v20230424.txt.xz" > "$work/data/rwkv_vocab_v20230424.txt"
export PATH="$work/bin:$PATH"
say "unpacked in $(( $(date +%s) - t0 )) s: $(cat "$kit/manifest.json" | tr -d '\n ')"
node --version >/dev/null || { say "the packed node does not run here (glibc: $(ldd --version | head -1))"; exit 1; }

# cuBLAS is loaded at run time; point the loader at a copy when its cache has none (toolkit or Python's nvidia).
if [ "$device" = cuda ] && ! ldconfig -p 2>/dev/null | grep -q 'libcublas\.so'; then
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib $(python3 -c 'import nvidia, os; print(" ".join(os.path.join(r) for p in nvidia.__path__ for r, _, f in os.walk(p) if any(x.startswith("libcublas.so") for x in f)))' 2>/dev/null); do
    if ls "$d"/libcublas.so* >/dev/null 2>&1; then export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; break; fi
  done
fi

{
  date -u +"date: %Y-%m-%dT%H:%M:%SZ"
  if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1; else echo "no nvidia-smi"; fi
  echo "node: $(node --version)"
} | tee "$out/device.txt"
# Offline: the machine has no network, and doctor would otherwise look for the default model to download.
(cd "$app" && RWKVSTREAM_OFFLINE=true RWKVSTREAM_HOME="$work/home" node bin/rwkvstream.mjs doctor --json 2>&1 || true) > "$out/doctor.json"

LD_LIBRARY_PATH="$work/redis/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/redis/redis-server" \
  --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no --logfile "$work/redis.log" &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null || true' EXIT

vocab="$work/data/rwkv_vocab_v20230424.txt"
[ "$small" = 1 ] && vocab=bytes
status=0
(cd "$app" && node --import tsx bench/gpu/measure.ts --out "$out" --work "$work" --bench "$work/bin/rwkv_bench" \
  --redis "redis://127.0.0.1:$port" --vocab "$vocab" --device "$device" --budget-s "${BUDGET_S:-150}" --total-s "${TOTAL_S:-420}" \
  $([ "$small" = 1 ] && echo --small) ${args[@]+"${args[@]}"}) || status=$?
say "done in $(( $(date +%s) - t0 )) s (status $status); results in $out"
exit "$status"
