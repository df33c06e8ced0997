// The CUDA model: weights, activation buffers sized for a round of stacked rows, device-resident state slots,
// and the orchestration of a forward call: rounds of rows (cuda_model.cu), each one pass of the embedding and
// the layers (cuda_layers.cu), then the head for the rows whose logits are wanted.
#pragma once
#include <cuda_runtime.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cuda/cublas_shim.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_graphs.h"
#include "cuda/cuda_weights.h"
#include "cuda/device_memory.h"
#include "cuda/kernels.h"

namespace rwkv::cuda {

class CudaModelImpl final : public CudaModel {
 public:
  // Either `params` (a checkpoint) or a random model of cfg's shape drawn from `seed`.
  CudaModelImpl(int device, const ModelConfig& cfg, std::string fingerprint, WeightType type, const Rwkv7Params* params,
                uint64_t seed);
  ~CudaModelImpl() override;

  const ModelConfig& config() const override { return cfg_; }
  const std::string& fingerprint() const override { return fingerprint_; }
  std::string device() const override { return "cuda:" + std::to_string(device_); }
  void forward(const std::vector<Sequence>& seqs) override;

  int add_slots(int n) override;
  int slot_count() const override;
  void write_slot(int slot, const float* state) override;
  void read_slot(int slot, float* state) override;
  void forward_slots(const std::vector<SlotSequence>& seqs) override;
  int max_rows() const override { return max_rows_; }

  // A row of a round whose logits are wanted, and their host destination (nullptr: not copied).
  struct LogitRow {
    int row;
    float* dst;
  };

 private:
  struct Job {
    const int32_t* tokens;
    size_t n_tokens;
    float* state;  // device
    LogitsMode mode;
    float* logits_out;  // host, or nullptr to run the head without copying its result
  };
  struct DescLayout {
    size_t ptrs, tokens, row_seq, seq_start, seq_len, total;
  };

  // The CPU engine's argument rules, so both backends reject the same calls with the same codes.
  void check_sequence(const std::string& which, const int32_t* tokens, size_t n, LogitsMode mode, bool logits_out_given,
                      bool device_logits_allowed) const;
  void run(const std::vector<Job>& jobs);
  RowLayout upload_descriptor(const std::vector<Job>& jobs, const std::vector<int>& active,
                              const std::vector<size_t>& offset, const std::vector<int>& take);
  // Embedding and all layers over a round's rows; graph-capturable. `decode`: one token per sequence (rows
  // and sequences coincide), which uses the fused recurrence kernel and, for a few rows, the GEMV kernels.
  void body(const RowLayout& rl, bool decode);
  void head(const std::vector<LogitRow>& rows);
  void gemm(const void* W, int N, int K, const void* X, int ldx, int rows, void* Y, bool y_f32, int ldy, float beta,
            const char* what);
  static DescLayout desc_layout(int rows, int n_seq);
  void plan_buffers();
  size_t state_bytes() const { return state_floats() * sizeof(float); }
  float* slot_ptr(int slot) const;

  int device_;
  ModelConfig cfg_;
  std::string fingerprint_;
  WeightType type_;
  size_t es_;           // bytes per stored element
  cudaDataType dtype_;  // cuBLAS type of weights and GEMM inputs
  int sm_count_ = 0;
  bool use_graphs_ = true;

  cudaStream_t stream_ = nullptr;
  cudaEvent_t desc_copied_ = nullptr;  // the pinned descriptor may be rewritten once this has fired
  const CublasApi* blas_api_ = nullptr;
  cublas_handle blas_ = nullptr;
  DeviceBuffer blas_workspace_;

  ModelWeights w_;

  // Activations for up to max_rows_ stacked rows.
  int max_rows_ = 0, head_rows_ = 0, max_dsum_ = 0;
  bool gemv_ok_ = false;  // every decode projection fits the GEMV kernel's vector loads
  DeviceBuffer x_, xin_, rkv_, lora_f_, lora_h_, z_, kk_, vfirst_, y_, o_, hk_f32_, hk_, head_in_, logits_;
  DeviceBuffer desc_dev_;
  PinnedBuffer desc_host_;
  PinnedBuffer logits_host_;  // allocated on first copy of logits to the host

  std::vector<DeviceBuffer> slot_blocks_;
  std::vector<float*> slots_;
  DeviceBuffer scratch_states_;  // forward(): the host states of a call, uploaded
  size_t scratch_count_ = 0;

  GraphCache graphs_;
  mutable std::mutex mu_;
};

}  // namespace rwkv::cuda
