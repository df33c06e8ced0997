// The engine's model API: load a model file, run chunks of tokens through it with the state carried by the
// caller (state_in + tokens -> state_out), optionally for many independent streams in one call.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rwkv {

struct LayerRanks {
  int w = 0, a = 0, v = 0, g = 0;  // low-rank widths; v is 0 in layer 0 (no value residual there)
};

struct ModelConfig {
  std::string version;     // "x070"
  std::string format;      // container: "pth", "safetensors", "ggml"
  std::string file_dtype;  // dtype of the big matrices on disk: "f32", "f16", "bf16"
  int n_layer = 0, n_embd = 0, n_head = 0, head_size = 0, vocab_size = 0, ffn = 0;
  std::vector<LayerRanks> ranks;  // one per layer
};

enum class WeightType : uint8_t { F32, BF16, F16 };
enum class LogitsMode : uint8_t { None, Last, All };

struct EngineOptions {
  WeightType weights = WeightType::F32;  // how matrices are kept in memory (compute is always fp32 on the CPU)
  int threads = 0;                       // 0: all hardware threads
  std::string device = "cpu";            // "cpu", "cuda" or "auto"
};

// One stream of a forward call. The state is read at the start and overwritten at the end (in place); its
// layout is the fixtures' one: per layer att_x_prev[C], wkv[H][N][N] (value row, key column), ffn_x_prev[C].
struct Sequence {
  const int32_t* tokens = nullptr;
  size_t n_tokens = 0;
  float* state = nullptr;
  LogitsMode logits = LogitsMode::Last;
  float* logits_out = nullptr;  // All: n_tokens*V floats; Last: V floats; None: unused
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelConfig& config() const = 0;
  // 64-bit identity of the weights (names, shapes, dtypes and every byte), as 16 hex digits.
  virtual const std::string& fingerprint() const = 0;
  virtual std::string device() const = 0;  // "cpu" or "cuda:N"
  size_t state_floats() const {
    const auto& c = config();
    return static_cast<size_t>(c.n_layer) * (2 * static_cast<size_t>(c.n_embd) +
                                             static_cast<size_t>(c.n_head) * c.head_size * c.head_size);
  }
  // Runs every sequence (each with its own state and token count). Sequence mode: all tokens of a call are
  // processed as matrix-matrix work; a call with one token per sequence is the one-token (decode) path.
  // Calls on one Model are serialized internally; tokens are checked against the vocabulary (E_TOKEN).
  virtual void forward(const std::vector<Sequence>& seqs) = 0;
};

class TensorFile;

// Loads any supported model file. Throws rwkv::Error with a code (see error.h).
std::shared_ptr<Model> load_model(const std::string& path, const EngineOptions& options);
// Builds a model from tensors already in memory (takes ownership: the CPU backend may keep views into them).
std::shared_ptr<Model> load_model(std::shared_ptr<const TensorFile> file, const EngineOptions& options);

// A random x070 model with the official tensor names and shapes (weights drawn like the training init, so
// activations stay in a realistic range), for benchmarks and backend parity tests.
struct RandomModelShape {
  int n_layer = 12, n_embd = 768, head_size = 64, vocab_size = 65536, ffn = 3072;
  int rank_w = 64, rank_a = 64, rank_v = 32, rank_g = 128;
};
std::shared_ptr<const TensorFile> random_rwkv7_tensors(const RandomModelShape& shape, uint64_t seed);

// What this build and machine can do, for `capabilities()` / doctor.
struct Capabilities {
  bool avx2 = false, avx512f = false, avx512bf16 = false;
  bool cuda_compiled = false;
  int cuda_devices = 0;  // 0 when no driver/device is usable
  std::string cuda_error;
};
Capabilities capabilities();

}  // namespace rwkv
