// State blobs (checkpoints, states moved between workers): the 128-byte header and the payload. Mutations set
// header fields to edge values, change the payload's length, and usually recompute the checksum so that the
// checks behind it (sizes, then the model match) are reached.
#include "fuzz_driver.h"
#include "rwkv/state_blob.h"
#include "util/hash.h"

namespace {

using fuzz::Bytes;

// A blob around a real state from the fixtures (the raw f32 states the reference implementation produced).
Bytes blob(const std::string& rel, const char* version, uint32_t layers, uint32_t embd, uint32_t heads,
           uint32_t head_size) {
  Bytes state = fuzz::file_bytes(rel);
  rwkv::StateInfo info;
  info.version = version;
  info.model_fingerprint = "0123456789abcdef";
  info.n_layer = layers;
  info.n_embd = embd;
  info.n_head = heads;
  info.head_size = head_size;
  info.tokens = 48;
  info.n_floats = state.size() / 4;
  Bytes out(rwkv::state_blob_size(info.n_floats));
  encode_state_blob(info, reinterpret_cast<const float*>(state.data()), out.data());
  return out;
}

std::vector<Bytes> seeds() {
  return {
      blob("fixtures/older/random-v4-L2-C128.expected.state.f32", "v4", 2, 128, 0, 0),
      blob("fixtures/older/random-v6-L2-C128.expected.state.f32", "x060", 2, 128, 2, 64),
      blob("fixtures/rwkv7/tiny-rwkv7-834K.fox.state.f32", "x070", 2, 128, 2, 64),
  };
}

void reseal(Bytes& b) {
  if (b.size() < rwkv::kStateBlobHeaderBytes) return;
  Bytes header(b.begin(), b.begin() + rwkv::kStateBlobHeaderBytes);
  fuzz::put(header, 88, 0, 8);
  rwkv::Xxh64 h;
  h.update(header.data(), header.size());
  h.update(b.data() + rwkv::kStateBlobHeaderBytes, b.size() - rwkv::kStateBlobHeaderBytes);
  fuzz::put(b, 88, h.digest(), 8);
}

void mutate(Bytes& b, fuzz::Rng& rng, const std::vector<Bytes>&) {
  switch (rng.below(3)) {
    case 0: {
      static const size_t kAt[] = {8, 12, 16, 24, 40, 56, 60, 64, 68, 72, 80, 96};
      static const size_t kWidth[] = {4, 4, 8, 8, 8, 4, 4, 4, 4, 8, 8, 8};
      size_t i = rng.below(sizeof kAt / sizeof kAt[0]);
      fuzz::put(b, kAt[i], fuzz::interesting(rng, fuzz::get(b, kAt[i], kWidth[i])), kWidth[i]);
      break;
    }
    case 1: b.resize(fuzz::interesting(rng, b.size()) % (b.size() * 2 + 256)); break;
    default: {  // payload length and n_floats changed together
      size_t floats = rng.below(b.size() / 2);
      b.resize(rwkv::kStateBlobHeaderBytes + 4 * floats);
      fuzz::put(b, 80, floats, 8);
    }
  }
  if (!rng.one_in(3)) reseal(b);
}

void run(const uint8_t* data, size_t size) {
  const float* payload = nullptr;
  rwkv::StateInfo found = rwkv::decode_state_blob(data, size, &payload);
  volatile float sum = 0;
  for (uint64_t i = 0; i < found.n_floats; i++) {
    float f;
    std::memcpy(&f, reinterpret_cast<const uint8_t*>(payload) + 4 * i, 4);
    sum = sum + f;
  }
  rwkv::StateInfo expected = found;
  expected.model_fingerprint = "0123456789abcdef";
  expected.n_floats = 1280;
  rwkv::check_state_matches(found, expected);
}

}  // namespace

FUZZ_MAIN((fuzz::Target{"state_blob", seeds, mutate, run}))
