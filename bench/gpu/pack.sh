#!/usr/bin/env bash
# Prepares, on a machine with Node and the built engine, the folder a GPU machine without Node, Redis or a
# network needs to run the product (bench/gpu/run.sh): this machine's node binary, the production
# node_modules, the addon and rwkv_bench built with the CUDA backend, redis-server with the libraries it
# links beyond glibc, and the World vocabulary. Everything is xz-compressed, and the folder plus the working
# tree that travels with it must stay within the 64 MiB a GPU call may carry: the packer checks that and
# fails otherwise. Models and documents are not packed: run.sh generates them there.
#
#   bench/gpu/pack.sh [--cpu | --check]
#     --cpu     pack the CPU build (native/build) instead of the CUDA one, to try the kit on this machine
#     --check   only check the size of the kit already in KIT_DIR (with the working tree) against the limit
#   KIT_DIR          where the kit goes (default <repo>/.gpu-kit, git-ignored)
#   CUDA_BUILD_DIR   the CUDA build (default <repo>/native/build-cuda; built here with nvcc when missing)
#   KIT_LIMIT_BYTES  the size limit checked (default 64 MiB)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
kit="${KIT_DIR:-$repo/.gpu-kit}"
limit="${KIT_LIMIT_BYTES:-67108864}"
backend=cuda
[ "${1:-}" = "--cpu" ] && backend=cpu
say() { echo "[pack] $*" >&2; }
fail() { echo "[pack] error: $*" >&2; exit 1; }

# What travels: the kit, plus the tracked and untracked-but-not-ignored files of the working tree.
check_size() {
  local kit_bytes tree_bytes total
  kit_bytes=$(du -cb "$kit" | tail -1 | cut -f1)
  tree_bytes=$(cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
  total=$((kit_bytes + tree_bytes))
  du -b "$kit"/* | awk '{printf "[pack]   %6.1f MiB  %s\n", $1/1048576, $2}' >&2
  say "kit $((kit_bytes / 1048576)) MiB + working tree $((tree_bytes / 1048576)) MiB = $((total / 1048576)) MiB of $((limit / 1048576)) MiB"
  [ "$total" -le "$limit" ] || fail "the kit and the working tree take $total bytes, more than $limit"
}

if [ "${1:-}" = "--check" ]; then
  [ -f "$kit/manifest.json" ] || fail "no kit in $kit"
  check_size
  exit 0
fi

if [ "$backend" = cuda ]; then
  build="${CUDA_BUILD_DIR:-$repo/native/build-cuda}"
  # Built when missing, and brought up to date (make skips what is current) so the kit matches the sources.
  if [ ! -f "$build/rwkv.node" ] || [ "${KIT_REBUILD:-1}" = 1 ]; then
    command -v nvcc >/dev/null || fail "nvcc not found: the CUDA addon cannot be built here"
    say "building the addon with the CUDA backend in $build"
    RWKVSTREAM_NATIVE_BUILD_DIR="$build" RWKVSTREAM_CUDA_ARCHITECTURES=90-real RWKVSTREAM_NATIVE_TARGETS="rwkv_addon rwkv_bench" \
      node "$repo/native/build.mjs" --quiet
  fi
  grep -q '^RWKV_ENABLE_CUDA:BOOL=ON' "$build/CMakeCache.txt" || fail "$build was configured without CUDA"
  grep -q '^CMAKE_CUDA_COMPILER:' "$build/CMakeCache.txt" || fail "$build found no CUDA compiler (nvcc)"
else
  build="$repo/native/build"
  [ -f "$build/rwkv.node" ] || fail "native/build/rwkv.node is missing: run npm run build:native"
  # npm ci builds only the addon; the benchmark is built when asked for, here.
  if [ ! -f "$build/rwkv_bench" ]; then
    say "building rwkv_bench in $build"
    node "$repo/native/build.mjs" --quiet --bench
  fi
fi
[ -f "$build/rwkv_bench" ] || fail "$build/rwkv_bench is missing"

rm -rf "$kit"
mkdir -p "$kit"
xzf() { xz -T0 -6 -c "$1" > "$2"; }

# Node: a single binary that needs only glibc, libstdc++ and libgcc; the newest glibc symbol it uses is
# recorded, so a mismatch there is explained rather than a loader error.
node_bin=$(readlink -f "$(command -v node)")
extra=$(ldd "$node_bin" | awk '{print $1}' | grep -Ev '^(linux-vdso|/lib64/ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libstdc\+\+\.so|libgcc_s\.so)' || true)
[ -z "$extra" ] || fail "node links libraries beyond glibc and libstdc++: $extra"
glibc=$(objdump -T "$node_bin" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
glibcxx=$(objdump -T "$node_bin" | grep -o 'GLIBCXX_[0-9.]*' | sort -uV | tail -1)
say "node $(node --version) (needs $glibc, $glibcxx)"
xzf "$node_bin" "$kit/node.xz"

# The production dependencies and tsx (a development dependency) with its own, which runs the sources; no
# TypeScript compiler, no type declarations.
( cd "$repo" && {
    npm ls --omit=dev --all --parseable 2>/dev/null | sed "s#^$repo/##"
    npm query '#tsx, #tsx *' | node -e 'for (const p of JSON.parse(require("fs").readFileSync(0, "utf8"))) console.log(p.location)'
  } | grep '^node_modules/' | sort -u ) > "$kit/packages.txt"
grep -qx 'node_modules/tsx' "$kit/packages.txt" || fail "tsx is not installed (npm ci installs it)"
[ -s "$kit/packages.txt" ] || fail "npm ls listed no production packages"
tar -C "$repo" -cf - --exclude='*.d.ts' --exclude='*.d.mts' --exclude='*.d.cts' --exclude='*.map' --exclude='*.md' \
  -T "$kit/packages.txt" | xz -T0 -6 > "$kit/node_modules.tar.xz"

xzf "$build/rwkv.node" "$kit/rwkv.node.xz"
xzf "$build/rwkv_bench" "$kit/rwkv_bench.xz"

# redis-server and the libraries it links that a CUDA image may lack (everything but glibc itself).
redis_bin=$(readlink -f "$(command -v redis-server)") || fail "redis-server not found (apt-get install redis-server)"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/redis/lib"
cp "$redis_bin" "$stage/redis/redis-server"
ldd "$redis_bin" | awk '$3 ~ /^\// {print $3}' | grep -Ev '/(libc|libm|libdl|libpthread|librt)\.so' | while read -r lib; do
  cp -L "$lib" "$stage/redis/lib/"
done
tar -C "$stage" -cf - redis | xz -T0 -6 > "$kit/redis.tar.xz"

vocab="${RWKV_SHARED_DIR:-$repo/../shared}/data/rwkv_vocab_v20230424.txt"
[ -f "$vocab" ] || fail "the World vocabulary is missing: $vocab"
xzf "$vocab" "$kit/rwkv_vocab_v20230424.txt.xz"

cat > "$kit/manifest.json" <<JSON
{
  "backend": "$backend",
  "commit": "$(git -C "$repo" rev-parse HEAD)",
  "node": "$(node --version)",
  "glibc": "$glibc",
  "glibcxx": "$glibcxx",
  "redis": "$(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-)",
  "packed": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
JSON

check_size
echo "$kit"
