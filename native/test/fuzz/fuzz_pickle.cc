// The pickle reader on its own (data.pkl of real checkpoints and crafted streams). Mutations work on whole
// opcodes: delete, repeat (up to thousands of times, which is how a small file asks for much memory), move,
// insert, and set an opcode's argument (lengths, memo indices, integers) to an edge value.
#include "fuzz_driver.h"
#include "hostile_files.h"
#include "io/mapped_file.h"
#include "io/pickle.h"
#include "io/zip.h"

namespace {

using fuzz::Bytes;
using rwkv::io::PyValue;

// The size of the opcode at `at` (its argument included), or 0 when it runs past the end or is unknown.
size_t op_size(const Bytes& b, size_t at) {
  auto left = [&](size_t n) { return at + n <= b.size(); };
  auto with_len = [&](size_t width) -> size_t {
    if (!left(1 + width)) return 0;
    uint64_t n = fuzz::get(b, at + 1, width);
    return left(1 + width + n) ? 1 + width + static_cast<size_t>(n) : 0;
  };
  switch (b[at]) {
    case 0x80:
    case 'q':
    case 'h':
    case 'K': return left(2) ? 2 : 0;
    case 'M': return left(3) ? 3 : 0;
    case 'r':
    case 'j':
    case 'J': return left(5) ? 5 : 0;
    case 0x95:
    case 'G': return left(9) ? 9 : 0;
    case 'X':
    case 'T':
    case 'B': return with_len(4);
    case 0x8c:
    case 'C':
    case 'U': return with_len(1);
    case 0x8d:
    case 0x8e: return with_len(8);
    case 0x8a: return with_len(1);
    case 0x8b: return with_len(4);
    case 'c': {
      size_t nl = 0, i = at + 1;
      for (; i < b.size() && nl < 2; i++) nl += b[i] == '\n';
      return nl == 2 ? i - at : 0;
    }
    default: return 1;
  }
}

std::vector<std::pair<size_t, size_t>> ops(const Bytes& b) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t at = 0; at < b.size();) {
    size_t n = op_size(b, at);
    if (!n) break;
    out.emplace_back(at, n);
    at += n;
  }
  return out;
}

// The data.pkl of a real checkpoint.
Bytes data_pkl(const std::string& rel) {
  rwkv::io::MappedFile file(check::shared_path(rel));
  rwkv::io::ReadBudget budget(rel, file.size());
  rwkv::io::ZipArchive zip(file, budget);
  for (const auto& e : zip.entries()) {
    if (e.name.ends_with("data.pkl")) {
      auto d = zip.data(e);
      return Bytes(d.begin(), d.end());
    }
  }
  return {};
}

std::vector<Bytes> seeds() {
  std::vector<Bytes> s = {
      data_pkl("fixtures/pth-container/251016_rosa_1bit_run.pth"),
      data_pkl("fixtures/pth-container/260123_reverse_L2_only_rwkv7.pth"),
      data_pkl("fixtures/older/random-v6-L2-C128.pth"),
      iotest::state_dict_pickle(
          {{"w", "HalfStorage", "0", 4, 0, {2, 2}, {2, 1}}, {"b", "FloatStorage", "1", 2, 0, {2}, {1}}}),
  };
  // Protocol 4 with framing, memoization and the short string opcodes Python writes.
  iotest::Pickle p;
  p.proto(4).op(0x95).out.u64(0);
  p.op('}').op(0x94).op(0x8c).op(1).out.str("k");
  p.op(0x94).op(']').op(0x94).op('K').op(7).op('a').op('s').op('h').op(0).op('.');
  s.push_back(p.out.b);
  return s;
}

void mutate(Bytes& b, fuzz::Rng& rng, const std::vector<Bytes>& corpus) {
  auto list = ops(b);
  if (list.empty()) return;
  auto [at, n] = list[rng.below(list.size())];
  Bytes op(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
  switch (rng.below(5)) {
    case 0:
      b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
      break;
    case 1: {  // repeat it, sometimes thousands of times
      size_t times = rng.one_in(8) ? 1 + rng.below(20000) : 1 + rng.below(4);
      Bytes run;
      for (size_t i = 0; i < times; i++) run.insert(run.end(), op.begin(), op.end());
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), run.begin(), run.end());
      break;
    }
    case 2: {  // an opcode of another input, here
      const Bytes& other = corpus[rng.below(corpus.size())];
      auto other_ops = ops(other);
      if (other_ops.empty()) break;
      auto [oat, on] = other_ops[rng.below(other_ops.size())];
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), other.begin() + static_cast<std::ptrdiff_t>(oat),
               other.begin() + static_cast<std::ptrdiff_t>(oat + on));
      break;
    }
    case 3: {  // move it elsewhere
      b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
      auto rest = ops(b);
      size_t to = rest.empty() ? 0 : rest[rng.below(rest.size())].first;
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(to), op.begin(), op.end());
      break;
    }
    default: {  // an edge value in its argument (length, memo index, integer, protocol)
      if (n < 2) break;
      size_t width = std::min<size_t>(n - 1, size_t{1} << rng.below(4));
      fuzz::put(b, at + 1, fuzz::interesting(rng, fuzz::get(b, at + 1, width)), width);
    }
  }
}

// Walks the result as the .pth reader would (memo references can make cycles, so the walk is bounded).
size_t walk(const PyValue* v, int depth, size_t& budget) {
  if (!v || depth > 64 || budget == 0) return 0;
  budget--;
  size_t n = v->s.size();
  for (const PyValue* x : v->items) n += walk(x, depth + 1, budget);
  for (const auto& [k, x] : v->entries) n += walk(k, depth + 1, budget) + walk(x, depth + 1, budget);
  return n;
}

void run(const uint8_t* data, size_t size) {
  rwkv::io::ReadBudget budget("fuzz.pkl", size);
  rwkv::io::Unpickler u(
      {data, size}, "fuzz.pkl",
      [](const std::string& module, const std::string& name) {
        // The .pth reader's allow-list, in short: anything else is refused before it is used.
        if (module == "collections" || module == "torch._utils" || (module == "torch" && name.ends_with("Storage")))
          return;
        throw rwkv::Error(rwkv::code::kModelFormat, "global refused");
      },
      budget);
  size_t steps = 100000;
  walk(u.load(), 0, steps);
}

}  // namespace

FUZZ_MAIN((fuzz::Target{"pickle", seeds, mutate, run}))
