#include "io/names.h"

#include "io/io_error.h"

namespace rwkv::io {

namespace {

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// "layers.<i>.<rest>" (after an optional "model.") -> i, rest.
bool split_hf_layer(const std::string& name, std::string* layer, std::string* rest) {
  size_t p = starts_with(name, "model.layers.") ? 13 : starts_with(name, "layers.") ? 7 : std::string::npos;
  if (p == std::string::npos) return false;
  size_t q = p;
  while (q < name.size() && name[q] >= '0' && name[q] <= '9') q++;
  if (q == p || q >= name.size() || name[q] != '.') return false;
  *layer = name.substr(p, q - p);
  *rest = name.substr(q + 1);
  return true;
}

bool is_hf(const std::map<std::string, TensorView>& t) {
  for (const auto& [name, v] : t) {
    std::string layer, rest;
    if (split_hf_layer(name, &layer, &rest) || name == "model.embeddings.weight" || name == "lm_head.weight")
      return true;
  }
  return false;
}

// The official (1,1,C) vectors, which HF stores squeezed to (C).
TensorView as_vector3(const std::string& path, const std::string& name, TensorView v) {
  int64_t c = v.shape.empty() ? 1 : v.shape.back();
  if (v.numel() != c) {
    fail(code::kModelShape, path,
         "tensor " + quoted(name) + ": expected a vector (C) or (1, 1, C), found " + shape_str(v.shape));
  }
  v.shape = {1, 1, c};
  return v;
}

TensorView need_2d(const std::string& path, const std::string& name, const TensorView& v) {
  if (v.shape.size() != 2)
    fail(code::kModelShape, path, "tensor " + quoted(name) + ": expected a matrix, found " + shape_str(v.shape));
  return v;
}

class HfRenamer {
 public:
  explicit HfRenamer(LoadedTensorFile& file) : file_(file), path_(file.path()) {}

  std::map<std::string, TensorView> run() {
    for (const auto& [name, v] : file_.tensors()) map_one(name, v);
    return std::move(out_);
  }

 private:
  void put(const std::string& from, const std::string& name, TensorView v) {
    file_.budget().charge(table_entry_cost(name, v.shape), "the renamed tensor table");
    if (!out_.emplace(name, std::move(v)).second) {
      fail(code::kModelFormat, path_,
           "both " + quoted(from) + " and another tensor map to the official name " + quoted(name));
    }
  }

  void map_one(const std::string& name, const TensorView& v) {
    std::string base = starts_with(name, "model.") ? name.substr(6) : name;
    if (base == "embeddings.weight") return put(name, "emb.weight", v);
    if (base == "norm.weight") return put(name, "ln_out.weight", v);
    if (base == "norm.bias") return put(name, "ln_out.bias", v);
    if (name == "lm_head.weight") return put(name, "head.weight", v);
    std::string layer, rest;
    if (!split_hf_layer(name, &layer, &rest)) return put(name, name, v);
    std::string b = "blocks." + layer + ".";
    static const std::pair<const char*, const char*> kPrefixes[] = {
        {"pre_norm.", "ln0."},
        {"attn_norm.", "ln1."},
        {"ffn_norm.", "ln2."},
        {"attn.g_norm.", "att.ln_x."},
        {"attn.r_proj.", "att.receptance."},
        {"attn.k_proj.", "att.key."},
        {"attn.v_proj.", "att.value."},
        {"attn.o_proj.", "att.output."},
    };
    for (const auto& [from, to] : kPrefixes) {
      if (starts_with(rest, from)) return put(name, b + to + rest.substr(std::string(from).size()), v);
    }
    // LoRA: Sequential(Linear(C->D), act, Linear(D->C)); nn.Linear stores (out, in), the official code (in, out).
    if (rest.size() > 5 && starts_with(rest, "attn.") && rest.find("_lora.lora.") == 6 &&
        std::string("wavg").find(rest[5]) != std::string::npos) {
      char x = rest[5];
      std::string tail = rest.substr(6 + 11);
      std::string off = b + "att." + x;
      if (tail == "0.weight") return put(name, off + "1", transposed(file_, need_2d(path_, name, v)));
      if (tail == "2.weight") return put(name, off + "2", transposed(file_, need_2d(path_, name, v)));
      if (tail == "2.bias") return put(name, off + "0", as_vector3(path_, name, v));
    }
    if (rest == "attn.x_x") {
      // An older layout packs x_r..x_g as rows of one (6, C) tensor.
      if (v.shape.size() != 2 || v.shape[0] != 6) {
        fail(code::kModelShape, path_,
             "tensor " + quoted(name) + ": expected shape (6, C), found " + shape_str(v.shape));
      }
      const char* names[] = {"x_r", "x_w", "x_k", "x_v", "x_a", "x_g"};
      size_t row = static_cast<size_t>(v.shape[1]) * dtype_size(v.dtype);
      for (int i = 0; i < 6; i++) {
        put(name, b + "att." + names[i],
            TensorView{v.dtype, {1, 1, v.shape[1]}, v.data + row * static_cast<size_t>(i)});
      }
      return;
    }
    if (rest == "attn.k_k" || rest == "attn.k_a" || (starts_with(rest, "attn.x_") && rest.size() == 8)) {
      return put(name, b + "att." + rest.substr(5), as_vector3(path_, name, v));
    }
    if (rest == "ffn.x_k") return put(name, b + rest, as_vector3(path_, name, v));
    if (starts_with(rest, "attn.")) return put(name, b + "att." + rest.substr(5), v);
    put(name, b + rest, v);
  }

  LoadedTensorFile& file_;
  const std::string& path_;
  std::map<std::string, TensorView> out_;
};

int64_t embedding_width(const std::map<std::string, TensorView>& t) {
  auto it = t.find("emb.weight");
  if (it != t.end() && it->second.shape.size() == 2) return it->second.shape[1];
  it = t.find("blocks.0.ln1.weight");
  if (it != t.end() && it->second.shape.size() == 1) return it->second.shape[0];
  return -1;
}

// web-rwkv (and other converters) store the RWKV-7 LoRA matrices transposed. Officially X1 is (C, D) and X2 is
// (D, C), so a matrix whose C sits on the other side is turned back. (D == C would be ambiguous; no release has it.)
void untranspose_lora(LoadedTensorFile& file) {
  auto t = file.tensors();
  int64_t c = embedding_width(t);
  if (c < 0) return;
  bool changed = false;
  for (auto& [name, v] : t) {
    if (v.shape.size() != 2 || !starts_with(name, "blocks.")) continue;
    size_t dot = name.rfind('.');
    std::string leaf = name.substr(dot + 1);
    if (leaf.size() != 2 || (leaf[0] != 'w' && leaf[0] != 'a' && leaf[0] != 'v' && leaf[0] != 'g') ||
        name.compare(dot - 4, 4, ".att") != 0) {
      continue;
    }
    bool flip = leaf[1] == '1'   ? (v.shape[0] != c && v.shape[1] == c)
                : leaf[1] == '2' ? (v.shape[1] != c && v.shape[0] == c)
                                 : false;
    if (flip) {
      v = transposed(file, v);
      changed = true;
    }
  }
  if (changed) file.replace_all(std::move(t));
}

}  // namespace

void normalize_names(LoadedTensorFile& file) {
  if (is_hf(file.tensors())) file.replace_all(HfRenamer(file).run());
  untranspose_lora(file);
}

}  // namespace rwkv::io
