#include "model/rwkv456_params.h"

#include "rwkv/error.h"

namespace rwkv {

namespace {

// Heads: (H, N) from time_faaaa (x052, x060) or time_decay (x052); x050/x051 store one decay per head (H),
// so N = C / H. v4 has none.
void read_heads(const ParamTable& t, const std::string& version, int64_t C, int64_t* H, int64_t* N) {
  *H = 0;
  *N = 0;
  if (version == "v4") return;
  const bool per_channel = version == "x052" || version == "x060";
  const std::string name = per_channel ? "blocks.0.att.time_faaaa" : "blocks.0.att.time_decay";
  const TensorView& v = t.get(name);
  std::vector<int64_t> s = v.shape;
  while (s.size() > 1 && s.back() == 1) s.pop_back();
  if (per_channel) {
    if (s.size() != 2 || s[0] <= 0 || s[1] <= 0) shape_error(name, "(H, N)", v.shape);
    *H = s[0];
    *N = s[1];
  } else {
    if (s.size() != 1 || s[0] <= 0) shape_error(name, "(H)", v.shape);
    *H = s[0];
    if (C % *H != 0) {
      throw Error(code::kModelShape,
                  "tensor " + name + ": " + std::to_string(*H) + " heads do not divide n_embd " + std::to_string(C));
    }
    *N = C / *H;
  }
  if (*H * *N != C) {
    throw Error(code::kModelShape, "tensor " + name + ": shape " + shape_text(v.shape) +
                                       " gives H*N = " + std::to_string(*H * *N) +
                                       ", but n_embd (from emb.weight) is " + std::to_string(C));
  }
}

}  // namespace

bool is_rwkv456_version(const std::string& v) {
  return v == "v4" || v == "x050" || v == "x051" || v == "x052" || v == "x060";
}

Rwkv456Params rwkv456_params(const TensorFile& file) {
  const auto& tensors = file.tensors();
  refuse_preconverted(tensors);
  const std::string version = detect_version(tensors);
  if (!is_rwkv456_version(version)) {
    throw Error(code::kModelVersion, "model version " + (version.empty() ? std::string("(none)") : version) +
                                         " is not an RWKV-4, RWKV-5 or RWKV-6 model");
  }
  const bool v4 = version == "v4", v6 = version == "x060";
  const bool gated = version == "x051" || version == "x052" || v6;

  const ParamTable t(tensors);
  Rwkv456Params p;
  ModelConfig& c = p.config;
  c.version = version;
  c.format = file.format();

  const SharedParams shared = read_shared_params(t, tensors);
  const int64_t C = shared.C, F = shared.F;
  const int L = shared.L;
  int64_t H = 0, N = 0;
  read_heads(t, version, C, &H, &N);
  set_dimensions(c, shared, H, N);

  static_cast<SharedTensors&>(p) = shared.tensors;

  p.layers.resize(static_cast<size_t>(L));
  c.ranks.resize(static_cast<size_t>(L));
  for (int i = 0; i < L; i++) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    const std::string a = b + "att.";
    Rwkv456LayerParams& l = p.layers[static_cast<size_t>(i)];
    l.ln1_w = t.vec(b + "ln1.weight", C);
    l.ln1_b = t.vec(b + "ln1.bias", C);
    l.ln2_w = t.vec(b + "ln2.weight", C);
    l.ln2_b = t.vec(b + "ln2.bias", C);
    if (v6) {
      l.maa_x = t.vec(a + "time_maa_x", C);
      l.maa_w = t.vec(a + "time_maa_w", C);
      l.maa_k = t.vec(a + "time_maa_k", C);
      l.maa_v = t.vec(a + "time_maa_v", C);
      l.maa_r = t.vec(a + "time_maa_r", C);
      l.maa_g = t.vec(a + "time_maa_g", C);
      const TensorView& w1 = t.get(a + "time_maa_w1");
      if (w1.shape.size() != 2 || w1.shape[0] != C || w1.shape[1] <= 0 || w1.shape[1] % 5 != 0) {
        shape_error(a + "time_maa_w1", "(" + std::to_string(C) + ", 5*D)", w1.shape);
      }
      const int64_t D = w1.shape[1] / 5;
      l.maa_w1 = w1;
      l.maa_w2 = t.exact(a + "time_maa_w2", {5, D, C});
      const TensorView& d1 = t.get(a + "time_decay_w1");
      if (d1.shape.size() != 2 || d1.shape[0] != C || d1.shape[1] <= 0) {
        shape_error(a + "time_decay_w1", "(" + std::to_string(C) + ", D)", d1.shape);
      }
      const int64_t Dw = d1.shape[1];
      l.decay_w1 = d1;
      l.decay_w2 = t.mat(a + "time_decay_w2", Dw, C);
      l.decay = t.vec(a + "time_decay", C);
      l.first = t.mat(a + "time_faaaa", H, N);
      c.ranks[static_cast<size_t>(i)].mix = static_cast<int>(D);
      c.ranks[static_cast<size_t>(i)].w = static_cast<int>(Dw);
      l.ffn_mix_k = t.vec(b + "ffn.time_maa_k", C);
      l.ffn_mix_r = t.vec(b + "ffn.time_maa_r", C);
    } else {
      l.mix_k = t.vec(a + "time_mix_k", C);
      l.mix_v = t.vec(a + "time_mix_v", C);
      l.mix_r = t.vec(a + "time_mix_r", C);
      if (gated) l.mix_g = t.vec(a + "time_mix_g", C);
      if (v4) {
        l.decay = t.vec(a + "time_decay", C);
        l.first = t.vec(a + "time_first", C);
      } else if (version == "x052") {
        l.decay = t.mat(a + "time_decay", H, N);
        l.first = t.mat(a + "time_faaaa", H, N);
      } else {
        l.decay = t.vec(a + "time_decay", H);
        l.first = t.vec(a + "time_first", H);
      }
      l.ffn_mix_k = t.vec(b + "ffn.time_mix_k", C);
      l.ffn_mix_r = t.vec(b + "ffn.time_mix_r", C);
    }
    if (l.decay.shape.size() == 2) l.decay.shape = {l.decay.numel()};
    if (l.first.shape.size() == 2) l.first.shape = {l.first.numel()};
    l.receptance = t.mat(a + "receptance.weight", C, C);
    l.key = t.mat(a + "key.weight", C, C);
    l.value = t.mat(a + "value.weight", C, C);
    l.output = t.mat(a + "output.weight", C, C);
    if (gated) l.gate = t.mat(a + "gate.weight", C, C);
    if (!v4) {
      l.ln_x_w = t.vec(a + "ln_x.weight", C);
      l.ln_x_b = t.vec(a + "ln_x.bias", C);
    }
    l.ffn_key = t.mat(b + "ffn.key.weight", F, C);
    l.ffn_value = t.mat(b + "ffn.value.weight", C, F);
    l.ffn_receptance = t.mat(b + "ffn.receptance.weight", C, C);
  }
  c.file_dtype = dtype_label(p.layers.empty() ? p.emb.dtype : p.layers[0].receptance.dtype);
  if (c.format == "ggml" && !v4 && !v6) p.group_norm_eps = 1e-5f;
  return p;
}

}  // namespace rwkv
