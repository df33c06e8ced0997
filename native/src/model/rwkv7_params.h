// The validated parameter table of an RWKV-7 (x070) model: every tensor looked up by its official name, its
// shape checked against the dimensions read from the file, and the config filled in. Backends (CPU, CUDA)
// build their own weight layouts from this table; nothing here copies data.
#pragma once
#include <string>
#include <vector>

#include "model/param_table.h"
#include "rwkv/model.h"
#include "rwkv/tensor_file.h"

namespace rwkv {

struct Rwkv7LayerParams {
  // (C) vectors; the (1,1,C) ones are flattened views of the same bytes.
  TensorView ln1_w, ln1_b, ln2_w, ln2_b;
  TensorView x_r, x_w, x_k, x_v, x_a, x_g;
  TensorView w0, a0, v0;  // v0 empty in layer 0
  TensorView k_k, k_a;
  TensorView r_k;                             // (H, N)
  TensorView w1, w2, a1, a2, g1, g2, v1, v2;  // (C,D) and (D,C); v1/v2 empty in layer 0
  TensorView receptance, key, value, output;  // (C, C), (out, in)
  TensorView ln_x_w, ln_x_b;
  TensorView ffn_x_k;    // (C)
  TensorView ffn_key;    // (F, C)
  TensorView ffn_value;  // (C, F)
  // RWKV-7a DeepEmbed (x070-7a) only, empty otherwise: the FFN's hidden units are scaled per token by
  // (ln2(x) s1) M s2 + s0, where M (D x D) is the token's s_emb row plus s_emb_x applied to its normed
  // embedding (the official loader folds s_emb_x into s_emb; s_emb_x is optional).
  TensorView s_emb;    // (V, D*D)
  TensorView s_emb_x;  // (D*D, C), (out, in); may be empty
  TensorView s1;       // (C, D)
  TensorView s2;       // (D, F)
  TensorView s0;       // (F)
};

struct Rwkv7Params : SharedTensors {
  ModelConfig config;
  std::vector<Rwkv7LayerParams> layers;
  int deep_embed_rank = 0;  // D of x070-7a's D x D per-token matrices; 0 for plain x070
};

// Builds the table from a file's tensors. Throws E_MODEL_VERSION naming the version for models other than
// x070 and x070-7a (RWKV-7b, DeepEmbed with attention, included) and E_MODEL_SHAPE naming the tensor for
// anything missing or inconsistent.
Rwkv7Params rwkv7_params(const TensorFile& file);

// 16-hex-digit identity of a tensor set (names, dtypes, shapes and data), used in state blobs.
std::string fingerprint_tensors(const std::map<std::string, TensorView>& tensors);

}  // namespace rwkv
