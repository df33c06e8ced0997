// rwkv.cpp's ggml .bin: the 24-byte header and the records (dims, key length, type, dims, key, data). Mutations
// set header and record fields to edge values, give a record another key (the names the converters' undoing
// looks for, or a huge block index), and repeat or drop whole records.
#include "fuzz_common.h"
#include "hostile_files.h"

namespace {

using fuzz::Bytes;

struct Record {
  size_t at, head, size;  // offset, bytes before the data, bytes in all
};

// The records as the reader walks them, up to the first that does not parse.
std::vector<Record> records(const Bytes& b) {
  std::vector<Record> out;
  size_t pos = 24;
  while (pos + 12 <= b.size()) {
    int32_t dims = static_cast<int32_t>(fuzz::get(b, pos, 4)), key = static_cast<int32_t>(fuzz::get(b, pos + 4, 4));
    int32_t type = static_cast<int32_t>(fuzz::get(b, pos + 8, 4));
    if (dims < 1 || dims > 4 || key < 1 || key > 1024 || (type != 0 && type != 1)) break;
    size_t head = 12 + 4 * static_cast<size_t>(dims) + static_cast<size_t>(key);
    if (pos + head > b.size()) break;
    uint64_t n = type == 0 ? 4 : 2;
    for (int32_t i = 0; i < dims; i++) n *= fuzz::get(b, pos + 12 + 4 * static_cast<size_t>(i), 4);
    if (n > b.size() - pos - head) break;
    out.push_back({pos, head, head + static_cast<size_t>(n)});
    pos += head + static_cast<size_t>(n);
  }
  return out;
}

std::vector<Bytes> seeds() {
  std::vector<iotest::GgmlTensor> g;
  auto f32 = [](std::vector<int64_t> shape, const std::string& name) {
    size_t n = 1;
    for (auto s : shape) n *= static_cast<size_t>(s);
    return iotest::GgmlTensor{name, 0, shape, std::vector<uint8_t>(n * 4, 0x3f)};
  };
  g.push_back(f32({16, 8}, "emb.weight"));
  g.push_back(f32({6, 1, 8}, "blocks.0.att.x_rwkvag"));
  g.push_back(f32({4, 8}, "blocks.0.att.w1"));
  g.push_back(f32({8, 4}, "blocks.0.att.w2"));
  g.push_back(f32({1, 8}, "blocks.0.att.r_k"));
  g.push_back(f32({8}, "ln_out.weight"));
  g.push_back(f32({16, 8}, "head.weight"));
  return {
      iotest::ggml_bytes(16, 8, 1, 0, g),
      fuzz::file_bytes("fixtures/rwkv7/tiny-rwkv-7v0-834K-FP16.bin"),
      fuzz::file_bytes("fixtures/older/tiny-rwkv-4v0-660K-FP16.bin"),
      fuzz::file_bytes("fixtures/older/tiny-rwkv-5v2-730K-FP16.bin"),
      hostile::ggml_of_empty_records(200, 15),
  };
}

const char* const kKeys[] = {"head.weight",
                             "emb.weight",
                             "blocks.0.att.x_rwkvag",
                             "blocks.0.att.w1",
                             "blocks.0.att.k_k",
                             "blocks.0.att.time_decay",
                             "blocks.0.att.time_first",
                             "blocks.0.att.time_maa_w2",
                             "blocks.0.att.time_maa_x",
                             "blocks.0.att.ln_x.weight",
                             "blocks.999999.ln1.weight",
                             "x"};

void mutate(Bytes& b, fuzz::Rng& rng, const std::vector<Bytes>&) {
  if (b.size() < 24) return;
  auto recs = records(b);
  if (recs.empty() || rng.one_in(6)) {  // a header field: version, n_vocab, n_embed, n_layer, file type
    size_t f = 4 + 4 * rng.below(5);
    fuzz::put(b, f, fuzz::interesting(rng, fuzz::get(b, f, 4)), 4);
    return;
  }
  Record r = recs[rng.below(recs.size())];
  auto it = [&](size_t off) { return b.begin() + static_cast<std::ptrdiff_t>(off); };
  switch (rng.below(4)) {
    case 0: {  // a field of the record: dims, key length, type or one dimension
      size_t dims = fuzz::get(b, r.at, 4);
      size_t f = r.at + 4 * rng.below(3 + dims);
      fuzz::put(b, f, fuzz::interesting(rng, fuzz::get(b, f, 4)), 4);
      break;
    }
    case 1: {  // another key, with its length field
      std::string key = kKeys[rng.below(sizeof kKeys / sizeof kKeys[0])];
      size_t dims = fuzz::get(b, r.at, 4), key_at = r.at + 12 + 4 * dims, old = fuzz::get(b, r.at + 4, 4);
      b.erase(it(key_at), it(key_at + old));
      b.insert(it(key_at), key.begin(), key.end());
      fuzz::put(b, r.at + 4, key.size(), 4);
      break;
    }
    case 2: {  // repeat the record
      Bytes rec(it(r.at), it(r.at + r.size));
      for (size_t k = rng.one_in(8) ? rng.below(500) : 1; k-- > 0;) b.insert(it(r.at), rec.begin(), rec.end());
      break;
    }
    default: b.erase(it(r.at), it(r.at + r.size));  // drop it
  }
}

void run(const uint8_t* data, size_t size) { fuzz::open_buffer("fuzz.bin", data, size); }

}  // namespace

FUZZ_MAIN((fuzz::Target{"ggml", seeds, mutate, run}))
