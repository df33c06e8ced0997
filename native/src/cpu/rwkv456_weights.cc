#include "cpu/rwkv456_weights.h"

#include <cmath>

#include "cpu/cpu_weights.h"

namespace rwkv::cpu {

namespace {

std::vector<float> one_minus(const TensorView& t) {
  std::vector<float> v = to_f32(t);
  for (float& x : v) x = 1.0f - x;
  return v;
}

// A per-head value repeated over the head's N channels.
std::vector<float> per_channel(std::vector<float> v, size_t C) {
  if (v.size() == C) return v;
  const size_t N = C / v.size();
  std::vector<float> out(C);
  for (size_t c = 0; c < C; c++) out[c] = v[c / N];
  return out;
}

}  // namespace

Rwkv456CpuWeights build_rwkv456_weights(const Rwkv456Params& p, BType type, ThreadPool& pool) {
  const ModelConfig& c = p.config;
  const bool v4 = c.version == "v4", v6 = c.version == "x060";
  const size_t C = static_cast<size_t>(c.n_embd);
  Rwkv456CpuWeights w;
  w.emb = p.emb;
  w.ln0_w = to_f32(p.ln0_w);
  w.ln0_b = to_f32(p.ln0_b);
  w.official_bf16_ln0 = p.emb.dtype == DType::BF16;
  w.ln_out_w = to_f32(p.ln_out_w);
  w.ln_out_b = to_f32(p.ln_out_b);
  w.head = pack_out_in(p.head, type, pool);
  w.layers.resize(p.layers.size());
  for (size_t i = 0; i < p.layers.size(); i++) {
    const Rwkv456LayerParams& s = p.layers[i];
    Rwkv456CpuLayer& l = w.layers[i];
    l.ln1_w = to_f32(s.ln1_w);
    l.ln1_b = to_f32(s.ln1_b);
    l.ln2_w = to_f32(s.ln2_w);
    l.ln2_b = to_f32(s.ln2_b);
    if (v6) {
      l.maa_x = to_f32(s.maa_x);
      l.maa_w = to_f32(s.maa_w);
      l.maa_k = to_f32(s.maa_k);
      l.maa_v = to_f32(s.maa_v);
      l.maa_r = to_f32(s.maa_r);
      l.maa_g = to_f32(s.maa_g);
      l.maa_w1 = pack_in_out(s.maa_w1, type, pool);
      const int64_t D = s.maa_w2.shape[1];
      const size_t slice = static_cast<size_t>(D) * C * dtype_size(s.maa_w2.dtype);
      for (int q = 0; q < 5; q++) {
        TensorView part{s.maa_w2.dtype, {D, static_cast<int64_t>(C)}, s.maa_w2.data + slice * static_cast<size_t>(q)};
        l.maa_w2.push_back(pack_in_out(part, type, pool));
      }
      l.decay_w1 = pack_in_out(s.decay_w1, type, pool);
      l.decay_w2 = pack_in_out(s.decay_w2, type, pool);
      l.decay = to_f32(s.decay);
      l.bonus = to_f32(s.first);
      l.ffn_coef_k = to_f32(s.ffn_mix_k);
      l.ffn_coef_r = to_f32(s.ffn_mix_r);
    } else {
      l.coef_k = one_minus(s.mix_k);
      l.coef_v = one_minus(s.mix_v);
      l.coef_r = one_minus(s.mix_r);
      if (s.mix_g.data) l.coef_g = one_minus(s.mix_g);
      l.ffn_coef_k = one_minus(s.ffn_mix_k);
      l.ffn_coef_r = one_minus(s.ffn_mix_r);
      std::vector<float> decay = to_f32(s.decay), first = to_f32(s.first);
      // Computed in double and rounded once: these constants multiply the state at every token.
      if (v4) {
        for (float& d : decay) d = static_cast<float>(-std::exp(static_cast<double>(d)));
        l.decay = std::move(decay);
        l.bonus = std::move(first);
      } else {
        for (float& d : decay) d = static_cast<float>(std::exp(-std::exp(static_cast<double>(d))));
        if (c.version != "x052") {
          for (float& u : first) u = static_cast<float>(std::exp(static_cast<double>(u)));
        }
        l.decay = per_channel(std::move(decay), C);
        l.bonus = per_channel(std::move(first), C);
      }
    }
    if (!v4) {
      l.ln_x_w = to_f32(s.ln_x_w);
      l.ln_x_b = to_f32(s.ln_x_b);
    }
    l.receptance = pack_out_in(s.receptance, type, pool);
    l.key = pack_out_in(s.key, type, pool);
    l.value = pack_out_in(s.value, type, pool);
    l.output = pack_out_in(s.output, type, pool);
    if (s.gate.data) l.gate = pack_out_in(s.gate, type, pool);
    l.ffn_key = pack_out_in(s.ffn_key, type, pool);
    l.ffn_value = pack_out_in(s.ffn_value, type, pool);
    l.ffn_receptance = pack_out_in(s.ffn_receptance, type, pool);
  }
  return w;
}

}  // namespace rwkv::cpu
