// Where each part of one layer's state sits, per version (the layouts listed at rwkv::state_floats), and
// the copy of state-tuning tensors into a state.
#pragma once
#include <cstddef>
#include <map>
#include <string>

#include "rwkv/model.h"
#include "rwkv/tensor_file.h"

namespace rwkv {

// True for the versions whose state is per-channel (v4) rather than per-head matrices.
inline bool is_v4(const ModelConfig& c) { return c.version == "v4"; }
// True for x060 and the three x05x versions: the [head][key][value] state that time_state fills.
inline bool has_kv_state(const ModelConfig& c) {
  return c.version == "x060" || c.version == "x052" || c.version == "x051" || c.version == "x050";
}

struct StateLayout {
  size_t per_layer = 0;  // floats per layer
  size_t att_prev = 0;   // offset of att_x_prev (C floats)
  size_t wkv = 0;        // offset of the wkv part (v4: aa, bb, pp, C floats each)
  size_t ffn_prev = 0;   // offset of ffn_x_prev (C floats)
};

StateLayout state_layout(const ModelConfig& c);

// Copies blocks.{i}.att.time_state (H, N, N), [head][value][key], transposed into the wkv part of every layer
// of `state`. Returns false when `tensors` holds no time_state at all; throws E_STATE_MISMATCH (naming
// `source`) when some layers lack one or a shape differs from (H, N, N).
bool apply_time_state(const std::map<std::string, TensorView>& tensors, const ModelConfig& c, float* state,
                      const std::string& source);

}  // namespace rwkv
