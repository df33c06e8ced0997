#!/usr/bin/env bash
# One command for a machine with an NVIDIA GPU: configure and build the native engine (Release, sm_90, no
# Node), run the CUDA parity test, then the CUDA benchmark. Logs go to $OUT when it is set (else to
# $BUILD_DIR/logs). Extra arguments go to the benchmark, e.g. `gpu-check.sh --quick` or `--sizes 0.1b`.
#   RWKV_SHARED_DIR  reference fixtures (default: <repo>/.gpu-fixtures when present, else the CMake default)
#   BUILD_DIR        build folder (default /tmp/rwkv-gpu-build)
#   GPU_CHECK_STEPS  which steps to run (default "test bench"; "profile" adds Nsight Compute reports of the
#                    recurrence kernels of a single-stream prefill and a decode step)
# Exit status: non-zero when the build, the test or the benchmark failed.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
native="$repo/native"
build="${BUILD_DIR:-/tmp/rwkv-gpu-build}"
logs="${OUT:-$build/logs}"
steps="${GPU_CHECK_STEPS:-test bench}"
mkdir -p "$build" "$logs"

if [ -z "${RWKV_SHARED_DIR:-}" ] && [ -d "$repo/.gpu-fixtures/fixtures" ]; then
  export RWKV_SHARED_DIR="$repo/.gpu-fixtures"
fi

# The engine loads cuBLAS at run time; where the loader's cache lacks it, point it at the toolkit or at the
# copy inside Python's nvidia packages.
if ! ldconfig -p 2>/dev/null | grep -q 'libcublas\.so'; then
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
           $(python3 -c 'import nvidia, os; p = os.path.dirname(nvidia.__path__[0]); print(" ".join(os.path.join(r) for r, _, f in os.walk(os.path.join(p, "nvidia")) if any(x.startswith("libcublas.so") for x in f)))' 2>/dev/null); do
    if ls "$d"/libcublas.so* >/dev/null 2>&1; then
      export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      break
    fi
  done
fi

{
  date -u +"date: %Y-%m-%dT%H:%M:%SZ"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  nvcc --version | tail -2
  echo "RWKV_SHARED_DIR=${RWKV_SHARED_DIR:-<cmake default>}"
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
} > "$logs/device.txt" 2>&1
cat "$logs/device.txt"

status=0
t0=$(date +%s)
if ! cmake -S "$native" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRWKV_CUDA_ARCHITECTURES=90-real \
      >"$logs/build.log" 2>&1; then
  tail -30 "$logs/build.log"
  exit 1
fi
if ! cmake --build "$build" -j"$(nproc)" --target test_cuda_parity rwkv_bench >>"$logs/build.log" 2>&1; then
  grep -E "error|Error" "$logs/build.log" | head -40
  exit 1
fi
bench=("$build/rwkv_bench" cuda)
echo "build: $(( $(date +%s) - t0 )) s"

if [[ " $steps " == *" test "* ]]; then
  t0=$(date +%s)
  "$build/test_cuda_parity" 2>&1 | tee "$logs/test_cuda_parity.log"
  rc=${PIPESTATUS[0]}
  echo "test_cuda_parity: exit $rc, $(( $(date +%s) - t0 )) s"
  [ "$rc" -ne 0 ] && status=1
fi
if [[ " $steps " == *" bench "* ]]; then
  t0=$(date +%s)
  "${bench[@]}" "$@" 2>&1 | tee "$logs/bench_cuda.log"
  rc=${PIPESTATUS[0]}
  echo "bench: exit $rc, $(( $(date +%s) - t0 )) s"
  [ "$rc" -ne 0 ] && status=1
fi
if [[ " $steps " == *" profile "* ]] && command -v ncu >/dev/null; then
  t0=$(date +%s)
  # The recurrence of a single long stream (the 0.1B prefill's fourth chunk), in detail.
  ncu --kernel-name regex:wkv_seq_kernel --launch-skip 40 --launch-count 1 --section SpeedOfLight \
      --section WarpStateStats --section SchedulerStats "${bench[@]}" --sizes 0.1b --quick --only prefill \
      >"$logs/profile.log" 2>&1
  grep -E "Duration|Warp Cycles Per Issued|Issued Warp|Stall|Grid Size" "$logs/profile.log" | head -20
  # Every kernel of one 7.2B batch-1 decode step (the third; 227 launches), summed per kernel.
  ncu --kernel-name regex:'gemv|wkv_decode|ln_shift|embed|ln_gather' --launch-skip 454 --launch-count 227 \
      --metrics gpu__time_duration.sum,dram__bytes_read.sum --csv --print-units base \
      "${bench[@]}" --sizes 7.2b --quick --only decode1 >"$logs/profile_decode.csv" 2>&1
  python3 - "$logs/profile_decode.csv" <<'PY'
import csv, sys, collections, re
rows = [r for r in csv.reader(l for l in open(sys.argv[1]) if l.startswith('"'))]
if not rows:
    sys.exit("no profile rows")
head, data = rows[0], rows[1:]
ki, ii, mi, vi = head.index("Kernel Name"), head.index("ID"), head.index("Metric Name"), head.index("Metric Value")
launches = collections.OrderedDict()
for r in data:
    m = re.search(r"(\w+_kernel)", r[ki])
    e = launches.setdefault(r[ii], {"name": m.group(1) if m else r[ki], "t": 0.0, "b": 0.0})
    v = float(r[vi].replace(",", ""))
    if r[mi] == "gpu__time_duration.sum": e["t"] += v
    else: e["b"] += v
tot = sum(e["t"] for e in launches.values())
print("decode step: %d launches, %.3f ms of kernel time" % (len(launches), tot / 1e6))
for e in list(launches.values())[:9]:
    print("  %-24s %8.1f us  %7.1f GB/s" % (e["name"], e["t"] / 1e3, e["b"] / e["t"] if e["t"] else 0))
t = collections.defaultdict(float); n = collections.Counter()
for e in launches.values(): t[e["name"]] += e["t"]; n[e["name"]] += 1
for k in sorted(t, key=t.get, reverse=True):
    print("  total %-18s %4d x %8.3f ms" % (k, n[k], t[k] / 1e6))
PY
  echo "profile: $(( $(date +%s) - t0 )) s"
fi
exit $status
