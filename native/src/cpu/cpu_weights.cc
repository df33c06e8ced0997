#include "cpu/cpu_weights.h"

#include <cstring>

#include "cpu/float16.h"
#include "rwkv/error.h"

namespace rwkv::cpu {

std::vector<float> to_f32(const TensorView& t) {
  const size_t n = static_cast<size_t>(t.numel());
  std::vector<float> out(n);
  switch (t.dtype) {
    case DType::F32:
      if (n) std::memcpy(out.data(), t.data, n * 4);
      break;
    case DType::BF16:
    case DType::F16: {
      const bool bf = t.dtype == DType::BF16;
      for (size_t i = 0; i < n; i++) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = bf ? bf16_to_f32(h) : f16_to_f32(h);
      }
      break;
    }
    default:
      throw Error(code::kModelDtype, std::string("cannot use a ") + dtype_name(t.dtype) + " tensor as weights");
  }
  return out;
}

size_t CpuWeights::bytes() const {
  size_t n = head.bytes() + 4 * (ln0_w.size() + ln0_b.size() + ln_out_w.size() + ln_out_b.size());
  for (const auto& l : layers) {
    for (const PackedMatrix* m : {&l.receptance, &l.key, &l.value, &l.output, &l.w1, &l.a1, &l.g1, &l.v1, &l.w2,
                                  &l.a2, &l.g2, &l.v2, &l.ffn_key, &l.ffn_value})
      n += m->bytes();
    for (const std::vector<float>* v : {&l.ln1_w, &l.ln1_b, &l.ln2_w, &l.ln2_b, &l.x_r, &l.x_w, &l.x_k, &l.x_v,
                                        &l.x_a, &l.x_g, &l.w0, &l.a0, &l.v0, &l.k_k, &l.k_a, &l.r_k, &l.ln_x_w,
                                        &l.ln_x_b, &l.ffn_x_k})
      n += 4 * v->size();
  }
  return n;
}

CpuWeights build_cpu_weights(const Rwkv7Params& p, BType type, ThreadPool& pool) {
  CpuWeights w;
  w.emb = p.emb;
  w.ln0_w = to_f32(p.ln0_w);
  w.ln0_b = to_f32(p.ln0_b);
  w.ln_out_w = to_f32(p.ln_out_w);
  w.ln_out_b = to_f32(p.ln_out_b);
  w.head = pack_out_in(p.head, type, pool);
  w.layers.resize(p.layers.size());
  for (size_t i = 0; i < p.layers.size(); i++) {
    const Rwkv7LayerParams& s = p.layers[i];
    CpuLayer& l = w.layers[i];
    l.ranks = p.config.ranks[i];
    l.ln1_w = to_f32(s.ln1_w);
    l.ln1_b = to_f32(s.ln1_b);
    l.ln2_w = to_f32(s.ln2_w);
    l.ln2_b = to_f32(s.ln2_b);
    l.x_r = to_f32(s.x_r);
    l.x_w = to_f32(s.x_w);
    l.x_k = to_f32(s.x_k);
    l.x_v = to_f32(s.x_v);
    l.x_a = to_f32(s.x_a);
    l.x_g = to_f32(s.x_g);
    l.w0 = to_f32(s.w0);
    l.a0 = to_f32(s.a0);
    l.k_k = to_f32(s.k_k);
    l.k_a = to_f32(s.k_a);
    l.r_k = to_f32(s.r_k);
    l.ln_x_w = to_f32(s.ln_x_w);
    l.ln_x_b = to_f32(s.ln_x_b);
    l.ffn_x_k = to_f32(s.ffn_x_k);
    l.receptance = pack_out_in(s.receptance, type, pool);
    l.key = pack_out_in(s.key, type, pool);
    l.value = pack_out_in(s.value, type, pool);
    l.output = pack_out_in(s.output, type, pool);
    l.w1 = pack_in_out(s.w1, type, pool);
    l.w2 = pack_in_out(s.w2, type, pool);
    l.a1 = pack_in_out(s.a1, type, pool);
    l.a2 = pack_in_out(s.a2, type, pool);
    l.g1 = pack_in_out(s.g1, type, pool);
    l.g2 = pack_in_out(s.g2, type, pool);
    if (i > 0) {
      l.v0 = to_f32(s.v0);
      l.v1 = pack_in_out(s.v1, type, pool);
      l.v2 = pack_in_out(s.v2, type, pool);
    }
    l.ffn_key = pack_out_in(s.ffn_key, type, pool);
    l.ffn_value = pack_out_in(s.ffn_value, type, pool);
  }
  return w;
}

}  // namespace rwkv::cpu
