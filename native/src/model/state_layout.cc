#include "model/state_layout.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "rwkv/error.h"

namespace rwkv {

StateLayout state_layout(const ModelConfig& c) {
  const size_t C = static_cast<size_t>(c.n_embd);
  StateLayout s;
  s.att_prev = 0;
  s.wkv = C;
  if (is_v4(c)) {
    s.ffn_prev = 4 * C;
    s.per_layer = 5 * C;
  } else {
    // x070 and x060/x05x share the sizes; only the orientation of the wkv matrices differs.
    const size_t hnn = static_cast<size_t>(c.n_head) * c.head_size * c.head_size;
    s.ffn_prev = C + hnn;
    s.per_layer = 2 * C + hnn;
  }
  return s;
}

size_t state_floats(const ModelConfig& c) { return static_cast<size_t>(c.n_layer) * state_layout(c).per_layer; }

void zero_state(const ModelConfig& c, float* state) {
  const StateLayout s = state_layout(c);
  std::fill(state, state + state_floats(c), 0.0f);
  if (!is_v4(c)) return;
  const size_t C = static_cast<size_t>(c.n_embd);
  for (int l = 0; l < c.n_layer; l++) {
    float* pp = state + static_cast<size_t>(l) * s.per_layer + s.wkv + 2 * C;
    std::fill(pp, pp + C, -1e30f);
  }
}

bool apply_time_state(const std::map<std::string, TensorView>& tensors, const ModelConfig& c, float* state,
                      const std::string& source) {
  int found = 0;
  for (int l = 0; l < c.n_layer; l++) found += tensors.count("blocks." + std::to_string(l) + ".att.time_state") ? 1 : 0;
  if (found == 0) return false;
  if (!has_kv_state(c)) {
    throw Error(code::kStateMismatch, source + " holds time_state tensors (a state-tuning file), but this is a " +
                                          c.version + " model; state tuning applies to x060 and x05x models");
  }
  const size_t H = static_cast<size_t>(c.n_head), N = static_cast<size_t>(c.head_size);
  const StateLayout s = state_layout(c);
  for (int l = 0; l < c.n_layer; l++) {
    const std::string name = "blocks." + std::to_string(l) + ".att.time_state";
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      throw Error(code::kStateMismatch, source + " lacks " + name + " (it has time_state for " + std::to_string(found) +
                                            " of the model's " + std::to_string(c.n_layer) + " layers)");
    }
    const TensorView& t = it->second;
    std::vector<int64_t> shape = t.shape;
    // Some tools save the per-layer state with a leading batch dimension of 1.
    while (shape.size() > 3 && shape.front() == 1) shape.erase(shape.begin());
    if (shape != std::vector<int64_t>{static_cast<int64_t>(H), static_cast<int64_t>(N), static_cast<int64_t>(N)}) {
      std::string got = "(";
      for (size_t i = 0; i < t.shape.size(); i++) got += (i ? ", " : "") + std::to_string(t.shape[i]);
      throw Error(code::kStateMismatch, source + ": " + name + " has shape " + got + "); this model's heads need (" +
                                            std::to_string(H) + ", " + std::to_string(N) + ", " + std::to_string(N) +
                                            ")");
    }
    std::vector<float> v;
    try {
      v = tensor_to_f32(t);
    } catch (const Error& e) {
      throw Error(code::kState, source + ": " + name + ": " + e.what());
    }
    float* wkv = state + static_cast<size_t>(l) * s.per_layer + s.wkv;
    for (size_t h = 0; h < H; h++)
      for (size_t key = 0; key < N; key++)
        for (size_t val = 0; val < N; val++) wkv[(h * N + key) * N + val] = v[(h * N + val) * N + key];
  }
  return true;
}

void read_state_tuning(const std::string& path, const ModelConfig& c, float* state) {
  std::unique_ptr<TensorFile> file = TensorFile::open(path);
  zero_state(c, state);
  if (!apply_time_state(file->tensors(), c, state, path)) {
    throw Error(code::kState, path + " holds no blocks.N.att.time_state tensors: not a state-tuning file");
  }
}

}  // namespace rwkv
