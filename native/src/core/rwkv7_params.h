// The validated parameter table of an RWKV-7 (x070) model: every tensor looked up by its official name, its
// shape checked against the dimensions read from the file, and the config filled in. Backends (CPU, CUDA)
// build their own weight layouts from this table; nothing here copies data.
#pragma once
#include <string>
#include <vector>

#include "core/param_table.h"
#include "rwkv/model.h"
#include "rwkv/tensor_file.h"

namespace rwkv {

struct Rwkv7LayerParams {
  // (C) vectors; the (1,1,C) ones are flattened views of the same bytes.
  TensorView ln1_w, ln1_b, ln2_w, ln2_b;
  TensorView x_r, x_w, x_k, x_v, x_a, x_g;
  TensorView w0, a0, v0;  // v0 empty in layer 0
  TensorView k_k, k_a;
  TensorView r_k;                  // (H, N)
  TensorView w1, w2, a1, a2, g1, g2, v1, v2;  // (C,D) and (D,C); v1/v2 empty in layer 0
  TensorView receptance, key, value, output;  // (C, C), (out, in)
  TensorView ln_x_w, ln_x_b;
  TensorView ffn_x_k;       // (C)
  TensorView ffn_key;       // (F, C)
  TensorView ffn_value;     // (C, F)
};

struct Rwkv7Params : SharedTensors {
  ModelConfig config;
  std::vector<Rwkv7LayerParams> layers;
};

// Builds the table from a file's tensors. Throws E_MODEL_VERSION naming the version for non-x070 models and
// E_MODEL_SHAPE naming the tensor for anything missing or inconsistent.
Rwkv7Params rwkv7_params(const TensorFile& file);

// 16-hex-digit identity of a tensor set (names, dtypes, shapes and data), used in state blobs.
std::string fingerprint_tensors(const std::map<std::string, TensorView>& tensors);

}  // namespace rwkv
