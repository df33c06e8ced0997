// A standalone fuzz driver for the readers of untrusted bytes, built with AddressSanitizer and
// UndefinedBehaviorSanitizer (CMake option RWKV_BUILD_FUZZ). It needs no libFuzzer: each target supplies seeds
// (real files from the shared fixtures plus crafted hostile ones), a structure-aware mutator that edits the
// fields its format is made of, and the function under test. The driver runs mutants for a fixed time; every
// input must either be accepted or refused with an rwkv::Error. Anything else fails the run: a sanitizer report
// (out-of-bounds read, overflow, leak), another exception type (an uncoded failure such as std::bad_alloc), or a
// single allocation larger than any budget allows. Mutations come from a seeded generator, so a run replays
// exactly with the same --seed; the input that failed is also written to fuzz-failure-<target>.bin.
//
//   fuzz_<target> [--seconds S] [--seed N] [FILE...]    (FILEs: run just these inputs, e.g. a saved failure)
#pragma once
#include <sanitizer/common_interface_defs.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "check.h"
#include "rwkv/error.h"

// A single allocation this large means a reader trusted a size from its input: the seeds are a few MiB, so no
// budget (4 × the input + 16 MiB) comes near it.
extern "C" const char* __asan_default_options() { return "max_allocation_size_mb=256:allocator_may_return_null=0"; }

namespace fuzz {

using Bytes = std::vector<uint8_t>;

// splitmix64: small, fast and seedable.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return n ? static_cast<size_t>(next() % n) : 0; }
  bool one_in(size_t n) { return below(n) == 0; }

 private:
  uint64_t s_;
};

// Values that sit on the edges sizes and offsets are checked against; `near` adds values around a size taken
// from the input itself.
inline uint64_t interesting(Rng& rng, uint64_t near = 0) {
  static const uint64_t kValues[] = {0,
                                     1,
                                     2,
                                     7,
                                     8,
                                     0x7f,
                                     0x80,
                                     0xff,
                                     0x100,
                                     0x7fff,
                                     0xffff,
                                     0x10000,
                                     0x7fffffff,
                                     0x80000000,
                                     0xfffffffe,
                                     0xffffffff,
                                     0x100000000ull,
                                     0x7fffffffffffffffull,
                                     0x8000000000000000ull,
                                     0xfffffffffffffffeull,
                                     0xffffffffffffffffull};
  if (near && rng.one_in(3)) return near + rng.below(9) - 4;
  return kValues[rng.below(sizeof kValues / sizeof kValues[0])];
}

inline void put(Bytes& b, size_t at, uint64_t v, size_t width) {
  for (size_t i = 0; i < width && at + i < b.size(); i++) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint64_t get(const Bytes& b, size_t at, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width && at + i < b.size(); i++) v |= static_cast<uint64_t>(b[at + i]) << (8 * i);
  return v;
}

// Byte-level edits every target also uses, for what the structure-aware ones do not reach.
inline void mutate_bytes(Bytes& b, Rng& rng, const std::vector<Bytes>& corpus) {
  if (b.empty()) {
    b.push_back(static_cast<uint8_t>(rng.next()));
    return;
  }
  size_t at = rng.below(b.size());
  switch (rng.below(7)) {
    case 0: b[at] = static_cast<uint8_t>(rng.next()); break;
    case 1: b[at] ^= static_cast<uint8_t>(1u << rng.below(8)); break;
    case 2:
      b.erase(b.begin() + static_cast<std::ptrdiff_t>(at),
              b.begin() + static_cast<std::ptrdiff_t>(std::min(b.size(), at + 1 + rng.below(16))));
      break;
    case 3:
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), 1 + rng.below(16), static_cast<uint8_t>(rng.next()));
      break;
    case 4: b.resize(at); break;  // cut short
    case 5: put(b, at, interesting(rng), size_t{1} << rng.below(4)); break;
    default: {  // splice: a run of another input over this one
      const Bytes& other = corpus[rng.below(corpus.size())];
      if (other.empty()) break;
      size_t from = rng.below(other.size()), len = std::min<size_t>(1 + rng.below(256), other.size() - from);
      for (size_t i = 0; i < len && at + i < b.size(); i++) b[at + i] = other[from + i];
    }
  }
}

inline Bytes file_bytes(const std::string& rel) {
  auto c = check::read_file(check::shared_path(rel));
  return Bytes(c.begin(), c.end());
}

// What a target provides.
struct Target {
  const char* name;
  std::vector<Bytes> (*seeds)();
  void (*mutate)(Bytes& b, Rng& rng, const std::vector<Bytes>& corpus);
  void (*run)(const uint8_t* data, size_t size);
};

namespace detail {
inline const Bytes* current = nullptr;
inline const char* target_name = "";
inline void save_current() {
  if (!current) return;
  std::string path = std::string("fuzz-failure-") + target_name + ".bin";
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(current->data(), 1, current->size(), f);
    std::fclose(f);
    std::fprintf(stderr, "the failing input (%zu bytes) is in %s\n", current->size(), path.c_str());
  }
}
// Runs one input from an exact-size heap copy, so that a read one byte past its end is caught.
inline bool run_one(const Target& t, const Bytes& input) {
  current = &input;
  std::unique_ptr<uint8_t[]> copy(new uint8_t[input.size() ? input.size() : 1]);
  if (!input.empty()) std::memcpy(copy.get(), input.data(), input.size());
  bool accepted = true;
  try {
    t.run(copy.get(), input.size());
  } catch (const rwkv::Error&) {
    accepted = false;  // a refusal with a code: what hostile input should get
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: an input failed with an uncoded %s: %s\n", t.name, typeid(e).name(), e.what());
    save_current();
    std::abort();
  }
  current = nullptr;
  return accepted;
}
}  // namespace detail

inline int main(const Target& t, int argc, char** argv) {
  double seconds = 10;
  uint64_t seed = 1;
  std::vector<std::string> files;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else if (a == "--seed" && i + 1 < argc)
      seed = std::strtoull(argv[++i], nullptr, 10);
    else
      files.push_back(a);
  }
  detail::target_name = t.name;
  __sanitizer_set_death_callback(detail::save_current);
  if (!files.empty()) {
    for (const auto& f : files) {
      auto c = check::read_file(f);
      bool ok = detail::run_one(t, Bytes(c.begin(), c.end()));
      std::printf("%s: %s\n", f.c_str(), ok ? "accepted" : "refused with a code");
    }
    return 0;
  }
  std::vector<Bytes> corpus = t.seeds();
  const size_t n_seeds = corpus.size();
  size_t accepted_seeds = 0;
  for (const auto& s : corpus) accepted_seeds += detail::run_one(t, s);
  // Mutants that are still accepted go back into the pool (bounded), so edits compound on inputs that pass
  // the early checks instead of all stopping at the first one.
  constexpr size_t kPool = 64;
  Rng rng(seed);
  auto start = std::chrono::steady_clock::now();
  size_t runs = 0, accepted = 0;
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds) {
    // Of two inputs drawn, the smaller: small inputs run faster and their mutations hit structure more often,
    // while the big real files still come up.
    const Bytes& x = corpus[rng.below(corpus.size())];
    const Bytes& y = corpus[rng.below(corpus.size())];
    Bytes b = x.size() <= y.size() ? x : y;
    for (size_t k = 1 + rng.below(4); k-- > 0;) {
      if (rng.one_in(4))
        mutate_bytes(b, rng, corpus);
      else
        t.mutate(b, rng, corpus);
    }
    bool ok = detail::run_one(t, b);
    runs++;
    if (ok) {
      accepted++;
      if (corpus.size() < n_seeds + kPool)
        corpus.push_back(std::move(b));
      else
        corpus[n_seeds + rng.below(kPool)] = std::move(b);
    }
  }
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  std::printf(
      "%s: seed %llu, %zu seeds (%zu accepted), %zu mutants in %.0f s, %zu accepted, the rest refused with a "
      "code; peak RSS %ld MiB (with the sanitizer's shadow memory)\n",
      t.name, static_cast<unsigned long long>(seed), n_seeds, accepted_seeds, runs, seconds, accepted,
      ru.ru_maxrss / 1024);
  return 0;
}

}  // namespace fuzz

#define FUZZ_MAIN(target) \
  int main(int argc, char** argv) { return fuzz::main(target, argc, argv); }
