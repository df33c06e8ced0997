// The portable form of an RNN state: a fixed 128-byte header and the raw fp32 state in the fixtures' layout.
// It is what checkpoints store and what moves between CPU and GPU workers, so it carries everything needed
// to refuse a state that does not belong: the model and tokenizer fingerprints, the dimensions, and an
// XXH64 checksum over header and payload.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace rwkv {

inline constexpr uint32_t kStateBlobFormat = 1;
inline constexpr size_t kStateBlobHeaderBytes = 128;

struct StateInfo {
  uint32_t format = kStateBlobFormat;
  std::string version;                // model generation, e.g. "x070" (at most 8 bytes)
  std::string model_fingerprint;      // 16 hex digits
  std::string tokenizer_fingerprint;  // 16 hex digits, or empty when no tokenizer is bound
  uint32_t n_layer = 0, n_embd = 0, n_head = 0, head_size = 0;
  uint64_t tokens = 0;    // tokens consumed since the zero state
  uint64_t n_floats = 0;  // payload length in floats
};

// Size of the blob for a payload of n_floats.
size_t state_blob_size(uint64_t n_floats);

// Writes header + payload into `out` (state_blob_size(info.n_floats) bytes).
void encode_state_blob(const StateInfo& info, const float* state, uint8_t* out);

// Validates magic, format, sizes and checksum; returns the header and a pointer to the payload inside `blob`
// (payload is 4-byte aligned when blob is). Throws E_STATE with what was expected and found.
StateInfo decode_state_blob(const uint8_t* blob, size_t len, const float** payload);

// Throws E_STATE_MISMATCH naming the first field that differs (version, fingerprints, dims).
void check_state_matches(const StateInfo& found, const StateInfo& expected);

}  // namespace rwkv
