// RWKV generation from the official key names (rwkv7-spec §2.1), first matching rule wins.
#include <cstddef>

#include "rwkv/tensor_file.h"

namespace rwkv {

namespace {

// "blocks.<i>.<rest>" -> rest; empty for other names.
std::string block_rest(const std::string& name) {
  if (name.rfind("blocks.", 0) != 0) return {};
  size_t p = 7, q = p;
  while (q < name.size() && name[q] >= '0' && name[q] <= '9') q++;
  if (q == p || q >= name.size() || name[q] != '.') return {};
  return name.substr(q + 1);
}

}  // namespace

std::string detect_version(const std::map<std::string, TensorView>& tensors) {
  bool any_block = false, v7b = false, v7a = false, v7 = false, v6 = false, ln_x = false, gate = false, v52 = false;
  for (const auto& [name, view] : tensors) {
    std::string rest = block_rest(name);
    if (rest.empty()) continue;
    any_block = true;
    if (rest.rfind("qkv.", 0) == 0)
      v7b = true;
    else if (rest == "ffn.s_emb.weight")
      v7a = true;
    else if (rest == "att.r_k" || rest == "att.k_k" || rest == "att.x_r")
      v7 = true;
    else if (rest == "att.time_maa_x")
      v6 = true;
    else if (rest == "att.ln_x.weight")
      ln_x = true;
    else if (rest == "att.gate.weight")
      gate = true;
    else if (rest == "att.time_decay") {
      // Officially (H, N) in 5.2; rwkv.cpp files add trailing unit dimensions, which are ignored.
      auto s = view.shape;
      while (s.size() > 2 && s.back() == 1) s.pop_back();
      if (s.size() == 2 && s[1] > 1) v52 = true;
    }
  }
  if (!any_block) return "";
  if (v7b) return "x070-7b";
  if (v7a) return "x070-7a";
  if (v7) return "x070";
  if (v6) return "x060";
  if (ln_x) return v52 ? "x052" : gate ? "x051" : "x050";
  return "v4";
}

}  // namespace rwkv
