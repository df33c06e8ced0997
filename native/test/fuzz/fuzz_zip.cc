// The torch.save container: the ZIP directory (end record, Zip64 locator and record, central and local
// headers) and, on top of it, the .pth reader's storages and views. Mutations rewrite the directory's fields
// with edge values, so sizes, offsets and counts that disagree with the file are tried far more often than
// random bytes would.
#include "fuzz_common.h"
#include "hostile_files.h"

namespace {

using fuzz::Bytes;

struct Field {
  size_t offset, width;
};

// Every ZIP structure found in b[from, to), with the fields a reader trusts.
void zip_fields(const Bytes& b, size_t from, size_t to, std::vector<Field>& out) {
  for (size_t i = from; i + 4 <= to; i++) {
    if (b[i] != 'P' || b[i + 1] != 'K') continue;
    uint32_t sig = static_cast<uint32_t>(fuzz::get(b, i, 4));
    auto add = [&](std::initializer_list<Field> fs) {
      for (Field f : fs) out.push_back({i + f.offset, f.width});
    };
    if (sig == 0x06054b50)
      add({{4, 2}, {6, 2}, {8, 2}, {10, 2}, {12, 4}, {16, 4}, {20, 2}});  // end record
    else if (sig == 0x07064b50)
      add({{4, 4}, {8, 8}, {16, 4}});  // Zip64 locator
    else if (sig == 0x06064b50)
      add({{4, 8}, {24, 8}, {32, 8}, {40, 8}, {48, 8}});  // Zip64 end
    else if (sig == 0x02014b50)
      add({{8, 2}, {10, 2}, {20, 4}, {24, 4}, {28, 2}, {30, 2}, {32, 2}, {42, 4}});  // central
    else if (sig == 0x04034b50)
      add({{6, 2}, {8, 2}, {18, 4}, {22, 4}, {26, 2}, {28, 2}});  // local
  }
}

std::vector<Bytes> seeds() {
  std::vector<Bytes> s = {
      fuzz::file_bytes("fixtures/pth-container/251016_rosa_1bit_run.pth"),
      fuzz::file_bytes("fixtures/pth-container/260123_reverse_L2_only_rwkv7.pth"),
      fuzz::file_bytes("fixtures/older/random-v4-L2-C128.pth"),
      hostile::zip64_locator_before_map(),
  };
  iotest::TempFile tmp(".pth");
  for (bool big : {true, false}) {
    hostile::storage_reused_by_many_entries(tmp.path(), 16 << 10, 40, big);
    auto c = check::read_file(tmp.path());
    s.emplace_back(c.begin(), c.end());
  }
  return s;
}

void mutate(Bytes& b, fuzz::Rng& rng, const std::vector<Bytes>&) {
  // The directory sits at the end; most edits go to the last 64 KiB, some to the entries' local headers, which
  // for big files are found only in a window at a random place.
  std::vector<Field> fields;
  size_t tail = b.size() > (64u << 10) ? b.size() - (64u << 10) : 0;
  if (rng.one_in(4)) {
    size_t from = rng.below(tail + 1);
    zip_fields(b, from, std::min(b.size(), from + (64u << 10)), fields);
  } else {
    zip_fields(b, tail, b.size(), fields);
  }
  if (fields.empty()) return;
  Field f = fields[rng.below(fields.size())];
  fuzz::put(b, f.offset, fuzz::interesting(rng, fuzz::get(b, f.offset, f.width)), f.width);
}

void run(const uint8_t* data, size_t size) { fuzz::open_buffer("fuzz.pth", data, size); }

}  // namespace

FUZZ_MAIN((fuzz::Target{"zip", seeds, mutate, run}))
