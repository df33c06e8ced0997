// Reading model files: every container (.pth zip+pickle, safetensors, rwkv.cpp ggml .bin) is turned into one
// map from the *official* RWKV checkpoint key names (docs: rwkv7-spec §2) to tensors in the official shapes,
// so the model builder never knows which container or naming a file used.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace rwkv {

enum class DType : uint8_t { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool };

const char* dtype_name(DType d);  // "f32", "f16", "bf16", "f64", "i64", "i32", "i16", "i8", "u8", "bool"
size_t dtype_size(DType d);

// A contiguous, row-major, little-endian tensor. `data` points into memory owned by the TensorFile (an mmap of
// the file, or a buffer the reader made when it had to transpose, split, byte-swap or make contiguous) and is
// always aligned to the element size, so it may be read as float / uint16_t arrays.
struct TensorView {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;

  int64_t numel() const {
    int64_t n = 1;
    for (auto s : shape) n *= s;
    return n;
  }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
};

class TensorFile {
 public:
  virtual ~TensorFile() = default;

  // Opens any supported container; the format is detected from the first bytes, not the file name.
  // Throws rwkv::Error (E_IO, E_MODEL_FORMAT, E_MODEL_TRUNCATED, E_MODEL_LEGACY_PICKLE, E_MODEL_DTYPE, and
  // E_MODEL_SHAPE when a renamed layout has shapes that cannot be mapped to the official ones).
  static std::unique_ptr<TensorFile> open(const std::string& path);

  // "pth", "safetensors" or "ggml".
  virtual const std::string& format() const = 0;
  // Tensors under their official names and shapes (after undoing HF/fla/web-rwkv/ggml renames and transposes).
  virtual const std::map<std::string, TensorView>& tensors() const = 0;
};

// Tensors built in memory (random models for benchmarks and parity tests, converted weights).
class InMemoryTensorFile : public TensorFile {
 public:
  // Adds a tensor, copying `data` (numel * dtype_size bytes); a second add under the same name replaces the
  // first. Throws E_ARGUMENT for a negative dimension, or for null `data` with a non-empty shape.
  void add(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data);
  const std::string& format() const override { return format_; }
  const std::map<std::string, TensorView>& tensors() const override { return views_; }

 private:
  std::string format_ = "memory";
  std::map<std::string, std::vector<uint8_t>> storage_;
  std::map<std::string, TensorView> views_;
};

// The elements of an f32, f16, bf16 or f64 tensor as f32, exactly for the 16-bit formats (E_MODEL_DTYPE for
// other dtypes). For tests, checks and small tensors; backends convert weights with their own kernels.
std::vector<float> tensor_to_f32(const TensorView& t);

// The RWKV generation a set of official keys belongs to (docs: rwkv7-spec §2.1):
// "x070", "x070-7a", "x070-7b", "x060", "x052", "x051", "x050", "v4", or "" if no RWKV block keys exist.
std::string detect_version(const std::map<std::string, TensorView>& tensors);

}  // namespace rwkv
