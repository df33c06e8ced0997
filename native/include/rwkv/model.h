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
  // x070: low-rank widths of the decay, in-context rate, value residual and gate LoRAs (v is 0 in layer 0,
  // which has no value residual). x060: w is the decay LoRA width, mix the token-shift LoRA width
  // (time_maa_w1 is (C, 5·mix)); the others are 0. Older versions have no LoRAs.
  int w = 0, a = 0, v = 0, g = 0;
  int mix = 0;
};

struct ModelConfig {
  std::string version;     // "x070", "x060", "x052", "x051", "x050" or "v4"
  std::string format;      // container: "pth", "safetensors", "ggml"
  std::string file_dtype;  // dtype of the big matrices on disk: "f32", "f16", "bf16"
  // n_head and head_size are 0 for v4, whose recurrence is per channel.
  int n_layer = 0, n_embd = 0, n_head = 0, head_size = 0, vocab_size = 0, ffn = 0;
  std::vector<LayerRanks> ranks;  // one per layer
};

// Floats in one stream's state. Each version has its own layout, always per layer in order (the official
// state lists flattened):
//   x070:              att_x_prev[C], wkv[H][N][N] (value row, key column), ffn_x_prev[C]
//   x060, x05x:        att_x_prev[C], wkv[H][N][N] (key row, value column), ffn_x_prev[C]
//   v4:                att_x_prev[C], aa[C], bb[C], pp[C], ffn_x_prev[C]
size_t state_floats(const ModelConfig& config);

// Writes the official initial state: zeros, except v4's pp, which starts at -1e30 (the running maximum of
// the exponents; aa = bb = 0 make any pp mean "nothing seen", and the official value keeps states comparable).
void zero_state(const ModelConfig& config, float* state);

// Reads a state-tuning file (a .pth or safetensors holding blocks.{i}.att.time_state of shape (H, N, N) for
// every layer, as written by RWKV-LM's state tuning for x060 and x05x models) into `state` (state_floats
// floats): the wkv part of each layer takes time_state transposed to the engine's [head][key][value]
// (the training kernel keeps it [head][value][key], and the official inference code transposes it the same
// way); the token-shift vectors are zero. Throws E_STATE_MISMATCH for another version or shape, E_STATE for a
// file without time_state tensors, and the TensorFile::open errors.
void read_state_tuning(const std::string& path, const ModelConfig& config, float* state);

// I8: matrices as int8 with one fp32 scale per output row, quantized at load time (CPU only); vectors and
// the recurrence stay fp32.
enum class WeightType : uint8_t { F32, BF16, F16, I8 };
enum class LogitsMode : uint8_t { None, Last, All };

struct EngineOptions {
  WeightType weights = WeightType::F32;  // how matrices are kept in memory (compute is always fp32 on the CPU)
  int threads = 0;                       // 0: all hardware threads
  std::string device = "cpu";            // "cpu", "cuda" or "auto"
};

// One stream of a forward call. The state is read at the start and overwritten at the end (in place); its
// layout is the official one of the model's version (state_floats above).
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
  size_t state_floats() const { return rwkv::state_floats(config()); }
  // The state a document starts from: the official zero state, or the tuned state a model file carries
  // (blocks.{i}.att.time_state in state-tuned x060 checkpoints).
  virtual void initial_state(float* state) const { zero_state(config(), state); }
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

// What a model file says about itself, read from its container header and validated as its version's
// parameter table without building any backend: no weights are converted, packed or copied to a device, so it
// costs about as much as the file's header (plus, when asked, one read of every byte for the fingerprint).
struct ModelFileInfo {
  ModelConfig config;
  std::vector<std::string> dtypes;  // every dtype the file's tensors use, in dtype_name spelling, sorted
  uint64_t parameters = 0;          // elements of all the file's tensors
  uint64_t tensors = 0;             // how many tensors the file holds
  int deep_embed_rank = 0;          // D of x070-7a's per-token D x D matrices; 0 otherwise
  std::string fingerprint;          // the loaded model's fingerprint(); empty unless asked for
};

// The file's configuration, refusing a file with the same codes as load_model (E_IO, E_MODEL_FORMAT,
// E_MODEL_TRUNCATED, E_MODEL_LIMIT, E_MODEL_VERSION, E_MODEL_SHAPE, E_MODEL_DTYPE, ...) and within the same
// read budget. `with_fingerprint` hashes every weight byte (seconds for a multi-gigabyte file).
ModelFileInfo inspect_model(const std::string& path, bool with_fingerprint = false);

// A random x070 model with the official tensor names and shapes (weights drawn like the training init, so
// activations stay in a realistic range), for benchmarks and backend parity tests.
struct RandomModelShape {
  int n_layer = 12, n_embd = 768, head_size = 64, vocab_size = 65536, ffn = 3072;
  int rank_w = 64, rank_a = 64, rank_v = 32, rank_g = 128;
};
std::shared_ptr<const TensorFile> random_rwkv7_tensors(const RandomModelShape& shape, uint64_t seed);

// What this build and machine can do, for `capabilities()` / doctor.
struct CudaDeviceInfo {
  std::string name;  // "NVIDIA H100 80GB HBM3"
  int sm_major = 0, sm_minor = 0;
  size_t total_bytes = 0, free_bytes = 0;
};

struct Capabilities {
  bool avx2 = false, avx512f = false, avx512bf16 = false;
  bool cuda_compiled = false;
  int cuda_devices = 0;  // 0 when no driver/device is usable
  std::string cuda_error;
  // Versions as the CUDA runtime reports them (12080 = 12.8); 0 when unknown (no driver, or no CUDA build).
  int cuda_driver_version = 0, cuda_runtime_version = 0;
  std::vector<CudaDeviceInfo> cuda_device_info;  // one per usable device
};
Capabilities capabilities();

}  // namespace rwkv
