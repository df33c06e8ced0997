#include "model/rwkv7_params.h"

#include "rwkv/error.h"

namespace rwkv {

Rwkv7Params rwkv7_params(const TensorFile& file) {
  const auto& tensors = file.tensors();
  refuse_preconverted(tensors);
  std::string version = detect_version(tensors);
  if (version.empty()) throw Error(code::kModelVersion, "no RWKV block tensors (blocks.N.*) found: not an RWKV model");
  if (version == "x070-7b") {
    throw Error(code::kModelVersion,
                "model version x070-7b (RWKV-7b: DeepEmbed with attention, blocks.N.qkv.*) is not "
                "supported; this engine runs RWKV-7 (x070) and RWKV-7a DeepEmbed (x070-7a) models");
  }
  if (version != "x070" && version != "x070-7a") {
    throw Error(code::kModelVersion,
                "model version " + version + " is not supported; this engine runs RWKV-7 (x070) models");
  }
  const bool deep_embed = version == "x070-7a";

  const ParamTable t(tensors);
  Rwkv7Params p;
  ModelConfig& c = p.config;
  c.version = version;
  c.format = file.format();

  const SharedParams shared = read_shared_params(t, tensors);
  const int64_t C = shared.C, F = shared.F;
  const int L = shared.L;
  const TensorView& rk = t.get("blocks.0.att.r_k");
  if (rk.shape.size() != 2 || rk.shape[0] <= 0 || rk.shape[1] <= 0) shape_error("blocks.0.att.r_k", "(H, N)", rk.shape);
  const int64_t H = rk.shape[0], N = rk.shape[1];
  if (H * N != C) {
    throw Error(code::kModelShape, "tensor blocks.0.att.r_k: shape " + shape_text(rk.shape) +
                                       " gives H*N = " + std::to_string(H * N) + ", but n_embd (from emb.weight) is " +
                                       std::to_string(C));
  }
  set_dimensions(c, shared, H, N);

  static_cast<SharedTensors&>(p) = shared.tensors;

  p.layers.resize(static_cast<size_t>(L));
  c.ranks.resize(static_cast<size_t>(L));
  for (int i = 0; i < L; i++) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    Rwkv7LayerParams& l = p.layers[static_cast<size_t>(i)];
    LayerRanks& r = c.ranks[static_cast<size_t>(i)];
    l.ln1_w = t.vec(b + "ln1.weight", C);
    l.ln1_b = t.vec(b + "ln1.bias", C);
    l.ln2_w = t.vec(b + "ln2.weight", C);
    l.ln2_b = t.vec(b + "ln2.bias", C);
    l.x_r = t.vec(b + "att.x_r", C);
    l.x_w = t.vec(b + "att.x_w", C);
    l.x_k = t.vec(b + "att.x_k", C);
    l.x_v = t.vec(b + "att.x_v", C);
    l.x_a = t.vec(b + "att.x_a", C);
    l.x_g = t.vec(b + "att.x_g", C);
    l.w0 = t.vec(b + "att.w0", C);
    l.a0 = t.vec(b + "att.a0", C);
    l.k_k = t.vec(b + "att.k_k", C);
    l.k_a = t.vec(b + "att.k_a", C);
    l.r_k = t.mat(b + "att.r_k", H, N);
    r.w = t.rank_of(b + "att.w1", C);
    r.a = t.rank_of(b + "att.a1", C);
    r.g = t.rank_of(b + "att.g1", C);
    l.w1 = t.mat(b + "att.w1", C, r.w);
    l.w2 = t.mat(b + "att.w2", r.w, C);
    l.a1 = t.mat(b + "att.a1", C, r.a);
    l.a2 = t.mat(b + "att.a2", r.a, C);
    l.g1 = t.mat(b + "att.g1", C, r.g);
    l.g2 = t.mat(b + "att.g2", r.g, C);
    // Layer 0 mixes the value toward itself, so its v0/v1/v2 (present in some files) are never read.
    if (i > 0) {
      r.v = t.rank_of(b + "att.v1", C);
      l.v0 = t.vec(b + "att.v0", C);
      l.v1 = t.mat(b + "att.v1", C, r.v);
      l.v2 = t.mat(b + "att.v2", r.v, C);
    }
    l.receptance = t.mat(b + "att.receptance.weight", C, C);
    l.key = t.mat(b + "att.key.weight", C, C);
    l.value = t.mat(b + "att.value.weight", C, C);
    l.output = t.mat(b + "att.output.weight", C, C);
    l.ln_x_w = t.vec(b + "att.ln_x.weight", C);
    l.ln_x_b = t.vec(b + "att.ln_x.bias", C);
    l.ffn_x_k = t.vec(b + "ffn.x_k", C);
    l.ffn_key = t.mat(b + "ffn.key.weight", F, C);
    l.ffn_value = t.mat(b + "ffn.value.weight", C, F);
    if (deep_embed) {
      const int D = t.rank_of(b + "ffn.s1", C);
      // Released models use D = 32; the bound keeps the per-token D x D scratch small whatever a file says.
      constexpr int kMaxDeepEmbedRank = 256;
      if (D > kMaxDeepEmbedRank) {
        std::string expected = "(";
        expected += std::to_string(C);
        expected += ", D) with D <= " + std::to_string(kMaxDeepEmbedRank);
        shape_error(b + "ffn.s1", expected, t.get(b + "ffn.s1").shape);
      }
      if (i > 0 && D != p.deep_embed_rank)
        shape_error(b + "ffn.s1", shape_text({C, p.deep_embed_rank}), t.get(b + "ffn.s1").shape);
      p.deep_embed_rank = D;
      l.s1 = t.mat(b + "ffn.s1", C, D);
      l.s_emb = t.mat(b + "ffn.s_emb.weight", shared.V, int64_t{D} * D);
      if (t.has(b + "ffn.s_emb_x.weight")) l.s_emb_x = t.mat(b + "ffn.s_emb_x.weight", int64_t{D} * D, C);
      l.s2 = t.mat(b + "ffn.s2", D, F);
      l.s0 = t.vec(b + "ffn.s0", F);
    }
  }
  c.file_dtype = dtype_label(p.layers.empty() ? p.emb.dtype : p.layers[0].receptance.dtype);
  return p;
}

}  // namespace rwkv
