#include "rwkv/state_blob.h"

#include <cstring>

#include "rwkv/error.h"
#include "util/hash.h"

namespace rwkv {
namespace {

// Header layout (little-endian):
//   0  magic "RWKVSTAT"        8
//   8  format u32, header bytes u32
//  16  version[8] (NUL padded)
//  24  model fingerprint[16], 40 tokenizer fingerprint[16]
//  56  n_layer, n_embd, n_head, head_size: u32 each
//  72  tokens u64, 80 n_floats u64
//  88  checksum u64 (XXH64 of the header with this field zeroed, then the payload)
//  96  reserved, zero
constexpr char kMagic[8] = {'R', 'W', 'K', 'V', 'S', 'T', 'A', 'T'};
constexpr size_t kChecksumAt = 88;

template <typename T>
void put(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}
template <typename T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void put_text(uint8_t* p, const std::string& s, size_t width, const char* field) {
  if (s.size() > width)
    throw Error(code::kArgument, std::string("state ") + field + " is longer than " + std::to_string(width) + " bytes");
  std::memset(p, 0, width);
  std::memcpy(p, s.data(), s.size());
}
std::string get_text(const uint8_t* p, size_t width) {
  size_t n = 0;
  while (n < width && p[n] != 0) n++;
  return std::string(reinterpret_cast<const char*>(p), n);
}

uint64_t checksum(const uint8_t* header, const uint8_t* payload, size_t payload_bytes) {
  uint8_t copy[kStateBlobHeaderBytes];
  std::memcpy(copy, header, sizeof copy);
  put<uint64_t>(copy + kChecksumAt, 0);
  Xxh64 h;
  h.update(copy, sizeof copy);
  h.update(payload, payload_bytes);
  return h.digest();
}

}  // namespace

size_t state_blob_size(uint64_t n_floats) { return kStateBlobHeaderBytes + n_floats * sizeof(float); }

void encode_state_blob(const StateInfo& info, const float* state, uint8_t* out) {
  std::memset(out, 0, kStateBlobHeaderBytes);
  std::memcpy(out, kMagic, 8);
  put<uint32_t>(out + 8, kStateBlobFormat);
  put<uint32_t>(out + 12, static_cast<uint32_t>(kStateBlobHeaderBytes));
  put_text(out + 16, info.version, 8, "version");
  put_text(out + 24, info.model_fingerprint, 16, "model fingerprint");
  put_text(out + 40, info.tokenizer_fingerprint, 16, "tokenizer fingerprint");
  put<uint32_t>(out + 56, info.n_layer);
  put<uint32_t>(out + 60, info.n_embd);
  put<uint32_t>(out + 64, info.n_head);
  put<uint32_t>(out + 68, info.head_size);
  put<uint64_t>(out + 72, info.tokens);
  put<uint64_t>(out + 80, info.n_floats);
  const size_t payload_bytes = info.n_floats * sizeof(float);
  if (state != nullptr && out + kStateBlobHeaderBytes != reinterpret_cast<const uint8_t*>(state)) {
    std::memcpy(out + kStateBlobHeaderBytes, state, payload_bytes);
  }
  put<uint64_t>(out + kChecksumAt, checksum(out, out + kStateBlobHeaderBytes, payload_bytes));
}

StateInfo decode_state_blob(const uint8_t* blob, size_t len, const float** payload) {
  if (len < kStateBlobHeaderBytes) {
    throw Error(code::kState, "state blob is " + std::to_string(len) + " bytes; expected at least the " +
                                  std::to_string(kStateBlobHeaderBytes) + "-byte header");
  }
  if (std::memcmp(blob, kMagic, 8) != 0) throw Error(code::kState, "not a state blob: expected magic \"RWKVSTAT\"");
  StateInfo info;
  info.format = get<uint32_t>(blob + 8);
  if (info.format != kStateBlobFormat) {
    throw Error(code::kState, "state blob format " + std::to_string(info.format) + " is not supported; expected " +
                                  std::to_string(kStateBlobFormat));
  }
  if (get<uint32_t>(blob + 12) != kStateBlobHeaderBytes) throw Error(code::kState, "state blob header size is wrong");
  info.version = get_text(blob + 16, 8);
  info.model_fingerprint = get_text(blob + 24, 16);
  info.tokenizer_fingerprint = get_text(blob + 40, 16);
  info.n_layer = get<uint32_t>(blob + 56);
  info.n_embd = get<uint32_t>(blob + 60);
  info.n_head = get<uint32_t>(blob + 64);
  info.head_size = get<uint32_t>(blob + 68);
  info.tokens = get<uint64_t>(blob + 72);
  info.n_floats = get<uint64_t>(blob + 80);
  const uint64_t want = kStateBlobHeaderBytes + info.n_floats * sizeof(float);
  if (info.n_floats > (uint64_t(1) << 40) || want != len) {
    throw Error(code::kState, "state blob is " + std::to_string(len) + " bytes; its header announces " +
                                  std::to_string(info.n_floats) + " floats (" + std::to_string(want) + " bytes)");
  }
  const uint64_t stored = get<uint64_t>(blob + kChecksumAt);
  const uint64_t actual = checksum(blob, blob + kStateBlobHeaderBytes, len - kStateBlobHeaderBytes);
  if (stored != actual) {
    throw Error(code::kState, "state blob checksum mismatch (stored " + hex64(stored) + ", computed " + hex64(actual) +
                                  "): the blob is corrupted");
  }
  if (payload) *payload = reinterpret_cast<const float*>(blob + kStateBlobHeaderBytes);
  return info;
}

void check_state_matches(const StateInfo& found, const StateInfo& expected) {
  auto refuse = [](const std::string& field, const std::string& got, const std::string& want) {
    throw Error(code::kStateMismatch,
                "state belongs to another " + field + ": it has " + got + ", this engine expects " + want);
  };
  if (found.version != expected.version) refuse("model version", found.version, expected.version);
  if (found.model_fingerprint != expected.model_fingerprint)
    refuse("model", "fingerprint " + found.model_fingerprint, "fingerprint " + expected.model_fingerprint);
  if (!expected.tokenizer_fingerprint.empty() && found.tokenizer_fingerprint != expected.tokenizer_fingerprint) {
    refuse("tokenizer",
           "fingerprint " + (found.tokenizer_fingerprint.empty() ? std::string("(none)") : found.tokenizer_fingerprint),
           "fingerprint " + expected.tokenizer_fingerprint);
  }
  auto dims = [](const StateInfo& s) {
    return "L" + std::to_string(s.n_layer) + " C" + std::to_string(s.n_embd) + " H" + std::to_string(s.n_head) + " N" +
           std::to_string(s.head_size) + " (" + std::to_string(s.n_floats) + " floats)";
  };
  if (found.n_layer != expected.n_layer || found.n_embd != expected.n_embd || found.n_head != expected.n_head ||
      found.head_size != expected.head_size || found.n_floats != expected.n_floats) {
    refuse("shape", dims(found), dims(expected));
  }
}

}  // namespace rwkv
