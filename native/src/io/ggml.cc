// rwkv.cpp's ggml .bin: a 24-byte header, then records (dim count, key length, type, dims in ggml order
// (fastest first), key, raw data) until the end of the file. The converter's changes are undone so the result
// is the official state dict: RWKV-7's here, RWKV-4/5/6's in ggml_legacy.cc.
#include <cstdlib>
#include <set>

#include "io/byte_order.h"
#include "io/io_error.h"
#include "io/readers.h"

namespace rwkv::io {

namespace {

constexpr uint32_t kMagic = 0x67676d66;

const char* type_name(int32_t t) {
  switch (t) {
    case 0: return "FP32";
    case 1: return "FP16";
    case 2: return "Q4_0";
    case 3: return "Q4_1";
    case 4: return "Q4_1_O";
    case 5: return "Q4_2";
    case 6: return "Q4_3";
    case 7: return "Q5_0";
    case 8: return "Q5_1";
    case 9: return "Q8_0";
    default: return nullptr;
  }
}

void check_type(const std::string& path, const std::string& what, int32_t t) {
  if (t == 0 || t == 1) return;
  const char* name = type_name(t);
  if (name) {
    fail(code::kModelDtype, path,
         what + " uses the quantized type " + name + " (" + std::to_string(t) + "); expected FP32 (0) or FP16 (1)");
  }
  fail(code::kModelFormat, path,
       what + " has the unknown data type " + std::to_string(t) + "; expected FP32 (0) or FP16 (1)");
}

// "blocks.<i>.<rest>" -> i, rest; false for other names.
bool split_block(const std::string& name, long* layer, std::string* rest) {
  if (name.rfind("blocks.", 0) != 0) return false;
  size_t p = 7, q = p;
  while (q < name.size() && name[q] >= '0' && name[q] <= '9') q++;
  if (q == p || q >= name.size() || name[q] != '.' || q - p > 6) return false;
  *layer = std::strtol(name.c_str() + p, nullptr, 10);
  *rest = name.substr(q + 1);
  return true;
}

bool is_v7_lora(const std::string& rest) {
  return rest.size() == 6 && rest.rfind("att.", 0) == 0 &&
         (rest[4] == 'w' || rest[4] == 'a' || rest[4] == 'v' || rest[4] == 'g') && (rest[5] == '1' || rest[5] == '2');
}

}  // namespace

std::unique_ptr<LoadedTensorFile> read_ggml(std::shared_ptr<const MappedFile> file) {
  const std::string& path = file->path();
  const uint8_t* d = file->data();
  const uint64_t n = file->size();
  if (n < 24) {
    fail(code::kModelTruncated, path, "expected a 24-byte rwkv.cpp header, found " + std::to_string(n) + " bytes");
  }
  if (le32(d) != kMagic) {
    fail(code::kModelFormat, path, "expected the rwkv.cpp magic 66 6d 67 67, found " + hex_bytes(d, 4));
  }
  int32_t version = le32s(d + 4), n_vocab = le32s(d + 8), n_embed = le32s(d + 12), n_layer = le32s(d + 16),
          file_type = le32s(d + 20);
  if (version != 100 && version != 101) {
    fail(code::kModelFormat, path, "expected rwkv.cpp format version 100 or 101, found " + std::to_string(version));
  }
  if (n_vocab <= 0 || n_embed <= 0 || n_layer <= 0) {
    fail(code::kModelFormat, path,
         "expected positive n_vocab, n_embed, n_layer in the header, found " + std::to_string(n_vocab) + ", " +
             std::to_string(n_embed) + ", " + std::to_string(n_layer));
  }
  check_type(path, "the header", file_type);

  auto out = std::make_unique<LoadedTensorFile>("ggml", path, n);
  out->keep_alive(file);
  std::set<long> layers;
  bool v7 = false;
  uint64_t pos = 24;
  size_t records = 0;
  std::string last_key = "(none)";
  while (pos < n) {
    if (n - pos < 12) {
      fail(code::kModelTruncated, path,
           "expected a 12-byte tensor record header at offset " + std::to_string(pos) + " (after " + quoted(last_key) +
               "), found " + std::to_string(n - pos) + " bytes; the file is cut short");
    }
    int32_t dims = le32s(d + pos), key_len = le32s(d + pos + 4), type = le32s(d + pos + 8);
    if (dims < 1 || dims > 4 || key_len < 1 || key_len > 1024) {
      fail(code::kModelFormat, path,
           "tensor record at offset " + std::to_string(pos) + ": expected 1-4 dims and a 1-1024 byte key, found " +
               std::to_string(dims) + " dims and a " + std::to_string(key_len) + "-byte key");
    }
    uint64_t head = 12 + 4 * static_cast<uint64_t>(dims) + static_cast<uint64_t>(key_len);
    if (n - pos < head) {
      fail(code::kModelTruncated, path,
           "tensor record at offset " + std::to_string(pos) + ": expected " + std::to_string(head) +
               " bytes of dims and key, found " + std::to_string(n - pos) + "; the file is cut short");
    }
    TensorView view;
    for (int32_t i = dims; i-- > 0;) {
      int32_t dim = le32s(d + pos + 12 + 4 * static_cast<uint64_t>(i));
      if (dim < 0)
        fail(code::kModelFormat, path, "tensor record at offset " + std::to_string(pos) + ": negative dimension");
      view.shape.push_back(dim);
    }
    std::string key(reinterpret_cast<const char*>(d + pos + 12 + 4 * static_cast<uint64_t>(dims)),
                    static_cast<size_t>(key_len));
    check_type(path, "tensor " + quoted(key), type);
    view.dtype = type == 0 ? DType::F32 : DType::F16;
    uint64_t nbytes = 0;
    if (!shape_bytes(view.shape, view.dtype, &nbytes) || nbytes > n - pos - head) {
      fail(code::kModelTruncated, path,
           "tensor " + quoted(key) + " " + shape_str(view.shape) + ": expected " + std::to_string(nbytes) +
               " bytes of data, found " + std::to_string(n - pos - head) +
               " before the end of the file; the file is cut short");
    }
    view.data = d + pos + head;
    pos += head + nbytes;
    records++;
    last_key = key;

    long layer = 0;
    std::string rest;
    if (split_block(key, &layer, &rest)) {
      if (layers.insert(layer).second) out->budget().charge(sizeof(long) + 4 * sizeof(void*) + 16, "the layer list");
      if (rest == "att.k_k") v7 = true;
      if (rest == "att.x_rwkvag") {
        // The six token-shift coefficients, concatenated (6, 1, C) in the order r, w, k, v, a, g.
        if (view.shape.size() != 3 || view.shape[0] != 6 || view.shape[1] != 1) {
          fail(code::kModelShape, path,
               "tensor " + quoted(key) + ": expected shape (6, 1, C), found " + shape_str(view.shape));
        }
        int64_t c = view.shape[2];
        size_t part = static_cast<size_t>(c) * dtype_size(view.dtype);
        const char* names[] = {"x_r", "x_w", "x_k", "x_v", "x_a", "x_g"};
        for (int i = 0; i < 6; i++) {
          TensorView x{view.dtype, {1, 1, c}, view.data + static_cast<size_t>(i) * part};
          out->add("blocks." + std::to_string(layer) + ".att." + names[i], std::move(x));
        }
        continue;
      }
      if (is_v7_lora(rest) && view.shape.size() == 2) {
        out->add(key, transposed(*out, view));
        continue;
      }
    }
    out->add(key, std::move(view));
  }

  // Records carry no count, so a file cut exactly between two records would still parse; the header's
  // dimensions and rwkv.cpp's fixed order (head.weight last) expose that.
  const auto& t = out->tensors();
  if (!t.count("head.weight")) {
    fail(code::kModelTruncated, path,
         "expected head.weight (the last tensor rwkv.cpp writes), found none after " + std::to_string(records) +
             " records ending with " + quoted(last_key) + "; the file is cut short");
  }
  auto emb = t.find("emb.weight");
  if (emb == t.end() || emb->second.shape != std::vector<int64_t>{n_vocab, n_embed}) {
    fail(code::kModelFormat, path,
         "expected emb.weight of shape (" + std::to_string(n_vocab) + ", " + std::to_string(n_embed) +
             ") as the header says, found " + (emb == t.end() ? std::string("none") : shape_str(emb->second.shape)));
  }
  if (layers.size() != static_cast<size_t>(n_layer) || *layers.rbegin() != n_layer - 1) {
    fail(code::kModelFormat, path,
         "the header says " + std::to_string(n_layer) + " layers, found tensors for " + std::to_string(layers.size()) +
             " distinct blocks");
  }
  if (!v7) undo_rwkv_cpp_transforms(*out);
  return out;
}

}  // namespace rwkv::io
