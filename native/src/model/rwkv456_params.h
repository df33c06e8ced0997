// The validated parameter table of an RWKV-4, RWKV-5 (x050, x051, x052) or RWKV-6 (x060) model: every
// tensor looked up by its official name (rwkv7-spec §7), its shape checked against the dimensions read from
// the file, and the config filled in. Like Rwkv7Params it only holds views; backends derive their own forms
// (decays as multipliers, interpolation coefficients) from it.
#pragma once
#include <string>
#include <vector>

#include "model/param_table.h"
#include "rwkv/model.h"
#include "rwkv/tensor_file.h"

namespace rwkv {

struct Rwkv456LayerParams {
  TensorView ln1_w, ln1_b, ln2_w, ln2_b;  // (C)

  // Token shift, v4 and x05x: x·mix + prev·(1 − mix) (time_mix_k/v/r, time_mix_g in x051/x052), (C) each.
  TensorView mix_k, mix_v, mix_r, mix_g;
  // Token shift, x060: x + (prev − x)·(maa + LoRA), (C) each, and the LoRA: maa_w1 (C, 5·D) "in, out",
  // maa_w2 (5, D, C) in the order w, k, v, r, g; decay_w1 (C, Dw), decay_w2 (Dw, C).
  TensorView maa_x, maa_w, maa_k, maa_v, maa_r, maa_g;
  TensorView maa_w1, maa_w2, decay_w1, decay_w2;

  // time_decay: v4 (C), exp applied as −exp(·) per channel; x050/x051 (H), per head; x052 (H, N) and
  // x060 (C, the base of the data-dependent decay), flattened to (C).
  TensorView decay;
  // v4: time_first (C); x050/x051: time_first (H), used as exp(·); x052/x060: time_faaaa (H, N) as (C).
  TensorView first;

  TensorView receptance, key, value, output;  // (C, C), (out, in)
  TensorView gate;                            // (C, C) in x051, x052, x060; empty otherwise
  TensorView ln_x_w, ln_x_b;                  // GroupNorm affine (C), all but v4

  // Channel mix: v4/x05x time_mix_k/r (x·mix + prev·(1 − mix)); x060 time_maa_k/r (x + (prev − x)·maa).
  TensorView ffn_mix_k, ffn_mix_r;
  TensorView ffn_key;         // (F, C)
  TensorView ffn_value;       // (C, F)
  TensorView ffn_receptance;  // (C, C)
};

struct Rwkv456Params : SharedTensors {
  ModelConfig config;
  std::vector<Rwkv456LayerParams> layers;
  // eps of the ln_x GroupNorm. The official inference code uses 64e-5 (1e-5 · head_size_divisor², divisor 8)
  // for every RWKV-5/6 model; rwkv.cpp uses 1e-5 for RWKV-5 and 64e-5 for RWKV-6. The checkpoint does not
  // record it, so a model runs the way its own ecosystem runs it: rwkv.cpp .bin files of RWKV-5 with 1e-5
  // (reproducing rwkv.cpp's logits), every other file with 64e-5.
  float group_norm_eps = 64e-5f;
};

// True for the versions rwkv456_params takes.
bool is_rwkv456_version(const std::string& version);

// Builds the table. Throws E_MODEL_VERSION for other versions and E_MODEL_SHAPE naming the tensor for
// anything missing or inconsistent.
Rwkv456Params rwkv456_params(const TensorFile& file);

}  // namespace rwkv
