// The CUDA backend's entry points. Pure C++ (no CUDA headers), so the backend dispatcher, tests and benchmarks
// include it without the CUDA toolkit on their include path; everything here exists only in builds that have
// the rwkv_cuda library (native/CMakeLists.txt), and only the dispatcher (src/backend) calls it from the
// engine's public API.
//
// Numerics: weights live on the GPU in fp16 or bf16 (EngineOptions::weights F16 / BF16); F32 keeps them in
// fp32 and runs every GEMM with full fp32 arithmetic (no TF32), which is slower but matches the CPU engine to
// rounding, so it doubles as the reference mode for parity checks. Activations feeding a GEMM are stored in
// the weight type; everything else (residual stream, LayerNorm/GroupNorm statistics, decay, sigmoids, L2
// norms, the WKV state and its updates) is fp32, and every GEMM accumulates in fp32.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/rwkv7_params.h"
#include "rwkv/model.h"
#include "rwkv/state_slots.h"
#include "rwkv/tensor_file.h"

namespace rwkv {

// A model on a CUDA device. Besides Model::forward (states cross as host arrays), it keeps device-resident
// state slots, so a decode loop moves only tokens and logits over PCIe: a 7B model's state is ~35 MB per
// stream, which would otherwise dominate every step.
class CudaModel : public Model {
 public:
  struct SlotSequence {
    const int32_t* tokens = nullptr;
    size_t n_tokens = 0;
    int slot = -1;
    LogitsMode logits = LogitsMode::Last;
    // Host destination (All: n_tokens*V floats; Last: V floats). nullptr with logits != None still runs the
    // head but copies nothing to the host, which times the device work apart from the PCIe copy.
    float* logits_out = nullptr;
  };

  // Adds n zero-state slots and returns the id of the first; ids are dense and stable.
  virtual int add_slots(int n) = 0;
  virtual int slot_count() const = 0;
  // Host <-> slot copies, in the same layout as Sequence::state; nullptr resets to the zero state.
  virtual void write_slot(int slot, const float* state) = 0;
  virtual void read_slot(int slot, float* state) = 0;
  // Like forward(), but each sequence's state is a slot (no state crosses PCIe). A slot may appear once.
  virtual void forward_slots(const std::vector<SlotSequence>& seqs) = 0;

  // Largest number of stacked rows one internal round processes (longer calls run in rounds).
  virtual int max_rows() const = 0;
};

// A model on the device opts.device names ("cuda", "auto" or "cuda:N"). Throws rwkv::Error: E_DEVICE (no
// usable device, out of memory, any CUDA/cuBLAS failure), E_MODEL_SHAPE (a head size other than 64),
// E_MODEL_DTYPE (weights not in f32/f16/bf16).
std::shared_ptr<Model> make_cuda_model(std::shared_ptr<const TensorFile> file, const Rwkv7Params& params,
                                       const EngineOptions& options);

// Usable CUDA devices; never throws: 0 with a reason in *error when there is no driver, no device, no device
// this build has machine code for, or no loadable cuBLAS.
int cuda_device_count(std::string* error);

// Device-resident slots of a CUDA model; nullptr when `model` is not one.
std::unique_ptr<StateSlots> make_cuda_state_slots(const std::shared_ptr<Model>& model);

// Fills the CUDA part of `caps`: usable devices (with name, compute capability and memory), the driver and
// runtime versions, or the reason there are none.
void cuda_capabilities(Capabilities* caps);

// The same, typed, for callers that use the slot API.
std::shared_ptr<CudaModel> make_cuda_model_typed(std::shared_ptr<const TensorFile> file, const Rwkv7Params& params,
                                                 const EngineOptions& opts);

// A model of the given shape with weights drawn on the GPU (deterministic in seed; uniform, scaled like the
// training init so activations stay in range). For benchmarks of large shapes without building gigabytes of
// host tensors. Its config().format is "random".
std::shared_ptr<CudaModel> make_cuda_random_model(const RandomModelShape& shape, uint64_t seed,
                                                  const EngineOptions& opts);

// Device ceilings measured in the same process as a benchmark, for rooflines.
struct CudaDeviceRates {
  std::string name;  // e.g. "NVIDIA H100 80GB HBM3"
  int sm_count = 0;
  double bf16_gemm_tflops = 0;  // cuBLAS bf16 GEMM (fp32 accumulate), 8192^3, random data
  double copy_gbps = 0;         // device-to-device copy, bytes read + bytes written per second / 1e9
};
CudaDeviceRates measure_cuda_device(int device);

}  // namespace rwkv
