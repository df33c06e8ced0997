#include "cpu/cpu_weights.h"

#include <algorithm>
#include <cstring>
#include <utility>

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
    default: throw Error(code::kModelDtype, std::string("cannot use a ") + dtype_name(t.dtype) + " tensor as weights");
  }
  return out;
}

CpuWeights build_cpu_weights(const Rwkv7Params& p, BType type, ThreadPool& pool) {
  CpuWeights w;
  w.emb = p.emb;
  w.ln0_w = to_f32(p.ln0_w);
  w.ln0_b = to_f32(p.ln0_b);
  w.ln_out_w = to_f32(p.ln_out_w);
  w.ln_out_b = to_f32(p.ln_out_b);

  // Every matrix with its source: out_in = a Linear weight (out, in), else an (in, out) LoRA matrix.
  struct Item {
    PackedMatrix* dst;
    const TensorView* src;
    bool out_in;
  };
  std::vector<Item> items;
  w.layers.resize(p.layers.size());
  items.push_back({&w.head, &p.head, true});
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
    // In the order a layer reads them, so one decode step streams the arena front to back.
    items.push_back({&l.receptance, &s.receptance, true});
    items.push_back({&l.key, &s.key, true});
    items.push_back({&l.value, &s.value, true});
    items.push_back({&l.w1, &s.w1, false});
    items.push_back({&l.a1, &s.a1, false});
    items.push_back({&l.g1, &s.g1, false});
    if (i > 0) {
      l.v0 = to_f32(s.v0);
      items.push_back({&l.v1, &s.v1, false});
    }
    items.push_back({&l.w2, &s.w2, false});
    items.push_back({&l.a2, &s.a2, false});
    items.push_back({&l.g2, &s.g2, false});
    if (i > 0) items.push_back({&l.v2, &s.v2, false});
    items.push_back({&l.output, &s.output, true});
    items.push_back({&l.ffn_key, &s.ffn_key, true});
    if (p.deep_embed_rank > 0) {
      l.s_emb = s.s_emb;
      l.s0 = to_f32(s.s0);
      items.push_back({&l.s1, &s.s1, false});
      if (s.s_emb_x.data) items.push_back({&l.s_emb_x, &s.s_emb_x, true});
      items.push_back({&l.s2, &s.s2, false});
    }
    items.push_back({&l.ffn_value, &s.ffn_value, true});
  }
  w.deep_embed_rank = p.deep_embed_rank;
  // Head last in memory: it is read last.
  std::rotate(items.begin(), items.begin() + 1, items.end());

  auto dims = [](const Item& it) {
    const auto& sh = it.src->shape;
    return it.out_in ? std::pair<int, int>{static_cast<int>(sh[1]), static_cast<int>(sh[0])}
                     : std::pair<int, int>{static_cast<int>(sh[0]), static_cast<int>(sh[1])};
  };
  auto slot = [](size_t bytes) {
    return (bytes + AlignedBuffer::kAlign - 1) / AlignedBuffer::kAlign * AlignedBuffer::kAlign;
  };
  size_t total = 0;
  for (const Item& it : items) {
    auto [K, N] = dims(it);
    total += slot(PackedMatrix::packed_bytes(K, N, type));
  }
  w.arena.reset(total);
  uint8_t* at = w.arena.as<uint8_t>();
  for (const Item& it : items) {
    *it.dst = it.out_in ? pack_out_in(*it.src, type, pool, at) : pack_in_out(*it.src, type, pool, at);
    at += slot(it.dst->bytes());
  }
  return w;
}

}  // namespace rwkv::cpu
