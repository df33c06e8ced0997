// rwkv.cpp's converter changes the RWKV-4/5/6 tensors it writes (python/convert_pytorch_to_ggml.py; listed in
// shared/fixtures/older/README.md). This undoes each change so a .bin reads as the official state dict, the
// same one the .pth it came from holds; the model builders then never know which container a model used.
//   every .time_* tensor        squeezed                     -> the official shape again ((1, 1, C) vectors)
//   v4 time_decay               −exp(d)                      -> d = log(−stored)
//   v5 time_decay               exp(−exp(d)), trailing 1s    -> d = log(−log(stored)), (H) or (H, N)
//   v5 time_first (5.0/5.1)     exp(f), (H, 1, 1)            -> f = log(stored), (H)
//   v5.2/v6 time_faaaa          trailing unit dimension      -> (H, N)
//   v6 time_maa_w1, time_decay_w1, time_decay_w2             -> transposed back
//   v6 time_maa_w2              (5, C, D)                    -> (5, D, C)
//   v6 time_decay               (H, N, 1)                    -> (1, 1, C)
// The inverse functions are evaluated in double and rounded once; the engine applies the forward functions
// again, so a decay comes back within an ulp of the converter's value.
#include <cmath>
#include <cstring>

#include "io/io_error.h"
#include "io/readers.h"

namespace rwkv::io {

namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

std::vector<int64_t> drop_trailing_ones(std::vector<int64_t> s) {
  while (s.size() > 1 && s.back() == 1) s.pop_back();
  return s;
}

// An f32 copy of `v` with fn applied to every element, owned by `file`.
template <class Fn>
TensorView mapped_f32(LoadedTensorFile& file, const TensorView& v, std::vector<int64_t> shape, Fn fn) {
  file.budget().charge(static_cast<uint64_t>(v.numel()) * sizeof(float), "a converted tensor");
  const std::vector<float> src = tensor_to_f32(v);
  TensorView out{DType::F32, std::move(shape), nullptr};
  uint8_t* data = file.allocate(src.size() * sizeof(float));
  for (size_t i = 0; i < src.size(); i++) {
    const float x = static_cast<float>(fn(static_cast<double>(src[i])));
    std::memcpy(data + i * sizeof(float), &x, sizeof x);
  }
  out.data = data;
  return out;
}

// (5, C, D) -> (5, D, C): each of the five slices transposed.
TensorView swap_last_two(LoadedTensorFile& file, const TensorView& v) {
  const int64_t B = v.shape[0], R = v.shape[1], K = v.shape[2];
  const size_t es = dtype_size(v.dtype);
  uint8_t* data = file.allocate(static_cast<size_t>(v.numel()) * es);
  for (int64_t b = 0; b < B; b++)
    for (int64_t r = 0; r < R; r++)
      for (int64_t k = 0; k < K; k++) {
        const size_t from = static_cast<size_t>((b * R + r) * K + k), to = static_cast<size_t>((b * K + k) * R + r);
        std::memcpy(data + to * es, v.data + from * es, es);
      }
  return TensorView{v.dtype, {B, K, R}, data};
}

}  // namespace

void undo_rwkv_cpp_transforms(LoadedTensorFile& file) {
  auto t = file.tensors();
  bool v6 = false, v5 = false;
  int64_t C = 0;
  for (const auto& [name, v] : t) {
    if (ends_with(name, ".att.time_maa_x")) v6 = true;
    if (ends_with(name, ".att.ln_x.weight")) v5 = true;
  }
  if (auto emb = t.find("emb.weight"); emb != t.end() && emb->second.shape.size() == 2) C = emb->second.shape[1];
  const std::string& path = file.path();
  for (auto& [name, v] : t) {
    if (name.find(".time_") == std::string::npos) continue;
    const bool decay = ends_with(name, ".att.time_decay"), first = ends_with(name, ".att.time_first");
    if (v6) {
      if (ends_with(name, ".time_maa_w1") || ends_with(name, ".time_decay_w1") || ends_with(name, ".time_decay_w2")) {
        if (v.shape.size() != 2)
          fail(code::kModelShape, path, "tensor " + quoted(name) + ": expected a matrix, found " + shape_str(v.shape));
        v = transposed(file, v);
      } else if (ends_with(name, ".time_maa_w2")) {
        if (v.shape.size() != 3 || v.shape[0] != 5) {
          fail(code::kModelShape, path,
               "tensor " + quoted(name) + ": expected shape (5, C, D), found " + shape_str(v.shape));
        }
        v = swap_last_two(file, v);
      } else if (ends_with(name, ".time_faaaa")) {
        v.shape = drop_trailing_ones(v.shape);
      } else if (v.numel() == C) {
        v.shape = {1, 1, C};  // time_decay (H, N, 1) and the squeezed time_maa_* vectors
      }
    } else if (v5) {
      if (decay) {
        v = mapped_f32(file, v, drop_trailing_ones(v.shape), [](double s) { return std::log(-std::log(s)); });
      } else if (first) {
        v = mapped_f32(file, v, drop_trailing_ones(v.shape), [](double s) { return std::log(s); });
      } else if (ends_with(name, ".time_faaaa")) {
        v.shape = drop_trailing_ones(v.shape);
      } else if (v.numel() == C) {
        v.shape = {1, 1, C};
      }
    } else {
      if (decay) {
        v = mapped_f32(file, v, v.shape, [](double s) { return std::log(-s); });
      } else if (!first && v.numel() == C) {
        v.shape = {1, 1, C};  // time_mix_*; time_decay and time_first are (C) in the official v4 files
      }
    }
  }
  file.replace_all(std::move(t));
}

}  // namespace rwkv::io
