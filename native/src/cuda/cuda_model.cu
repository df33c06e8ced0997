// CUDA model orchestration (see cuda_model.h). A forward call is split into rounds of at most max_rows_
// stacked rows; each round is one pass of every layer over all its rows, so the projections are single GEMMs
// however many streams take part, and states carry between rounds on the device.
#include "cuda/cuda_model.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <thread>
#include <unordered_set>

#include "cuda/cuda_check.h"

namespace rwkv::cuda {
namespace {

constexpr size_t kCublasWorkspace = 32ull << 20;
constexpr size_t kHeadBytes = 256ull << 20;  // logits of one head slice (device, and pinned on the host)
constexpr int kMaxRowsCap = 16384;

size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

long env_long(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long r = std::strtol(v, &end, 10);
  return end && *end == 0 ? r : fallback;
}

// Copies logit rows from the pinned staging buffer to their destinations; large copies (a decode step of
// hundreds of streams moves tens of megabytes) are split over threads, since one core's memcpy would take
// longer than the GPU's whole step.
void copy_rows_out(const CudaModelImpl::LogitRow* rows, int n, const float* src, size_t V) {
  const size_t bytes = static_cast<size_t>(n) * V * sizeof(float);
  const int threads = static_cast<int>(std::min<size_t>({8, static_cast<size_t>(n), bytes / (4u << 20) + 1}));
  auto work = [&](int part) {
    for (int i = part; i < n; i += threads)
      if (rows[i].dst) std::memcpy(rows[i].dst, src + static_cast<size_t>(i) * V, sizeof(float) * V);
  };
  std::vector<std::thread> pool;
  for (int p = 1; p < threads; p++) pool.emplace_back(work, p);
  work(0);
  for (auto& t : pool) t.join();
}

}  // namespace

CudaModelImpl::CudaModelImpl(int device, const ModelConfig& cfg, std::string fingerprint, WeightType type,
                             const Rwkv7Params* params, uint64_t seed)
    : device_(device), cfg_(cfg), fingerprint_(std::move(fingerprint)), type_(type) {
  es_ = weight_type_size(type);
  dtype_ = type == WeightType::F32 ? CUDA_R_32F : type == WeightType::F16 ? CUDA_R_16F : CUDA_R_16BF;
  if (cfg.head_size != kHeadSize || cfg.n_embd != cfg.n_head * kHeadSize)
    throw Error(code::kModelShape,
                "the CUDA backend needs head size 64 (this model has " + std::to_string(cfg.head_size) + ")");
  if (cfg.ffn % 4 != 0) throw Error(code::kModelShape, "the CUDA backend needs an FFN width divisible by 4");
  if (static_cast<int>(cfg.ranks.size()) != cfg.n_layer)
    throw Error(code::kModelShape, "low-rank widths missing for some layers");
  std::string why;
  blas_api_ = cublas_api(&why);
  if (!blas_api_) throw Error(code::kDevice, why);
  RWKV_CUDA_CHECK(cudaSetDevice(device_));
  RWKV_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, device_));
  try {
    RWKV_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    RWKV_CUDA_CHECK(cudaEventCreateWithFlags(&desc_copied_, cudaEventDisableTiming));
    check_cublas(blas_api_->create(&blas_), "cublasCreate");
    check_cublas(blas_api_->set_stream(blas_, stream_), "cublasSetStream");
    // A fixed workspace keeps cuBLAS from allocating inside graph capture.
    blas_workspace_ = DeviceBuffer(kCublasWorkspace, "cuBLAS workspace");
    check_cublas(blas_api_->set_workspace(blas_, blas_workspace_.get(), kCublasWorkspace), "cublasSetWorkspace");
    check_cublas(blas_api_->set_math_mode(blas_, kCublasDefaultMath), "cublasSetMathMode");
    w_ = params ? upload_weights(*params, type, stream_) : random_weights(cfg, type, seed, stream_);
    plan_buffers();
  } catch (...) {
    graphs_.clear();
    if (blas_) blas_api_->destroy(blas_);
    if (desc_copied_) cudaEventDestroy(desc_copied_);
    if (stream_) cudaStreamDestroy(stream_);
    throw;
  }
  use_graphs_ = env_long("RWKV_CUDA_GRAPHS", 1) != 0;
}

CudaModelImpl::~CudaModelImpl() {
  cudaSetDevice(device_);
  if (stream_) cudaStreamSynchronize(stream_);
  graphs_.clear();
  if (blas_) blas_api_->destroy(blas_);
  if (desc_copied_) cudaEventDestroy(desc_copied_);
  if (stream_) cudaStreamDestroy(stream_);
}

void CudaModelImpl::plan_buffers() {
  const size_t C = cfg_.n_embd, F = cfg_.ffn, V = cfg_.vocab_size;
  max_dsum_ = 0;
  for (auto& L : w_.layers) max_dsum_ = std::max(max_dsum_, L.dsum());
  const size_t D = max_dsum_;
  // Bytes per stacked row: x, six mix planes, r/k/v, low-rank hidden (fp32 and stored), four low-rank
  // outputs, kappa-hat, v_first, y, the gated output, the FFN hidden (fp32 and stored).
  const size_t per_row =
      4 * C + 6 * C * es_ + 12 * C + (4 + es_) * D + 16 * C + 4 * C + 4 * C + 4 * C + es_ * C + (4 + es_) * F;
  size_t free_b = 0, total_b = 0;
  RWKV_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  const size_t budget = std::min(free_b / 2, size_t(8) << 30);
  long rows = static_cast<long>(std::min<size_t>(budget / per_row, kMaxRowsCap));
  rows = std::min(rows, env_long("RWKV_CUDA_MAX_ROWS", kMaxRowsCap));
  max_rows_ = static_cast<int>(std::max(1L, rows));
  head_rows_ = static_cast<int>(std::clamp<size_t>(kHeadBytes / (V * 4), 1, max_rows_));
  const size_t R = max_rows_, HR = head_rows_;

  x_ = DeviceBuffer(R * C * 4, "residual stream");
  xin_ = DeviceBuffer(6 * R * C * es_, "mixed inputs");
  rkv_ = DeviceBuffer(3 * R * C * 4, "r/k/v");
  lora_f_ = DeviceBuffer(R * D * 4, "low-rank hidden");
  lora_h_ = DeviceBuffer(R * D * es_, "low-rank hidden");
  z_ = DeviceBuffer(4 * R * C * 4, "low-rank outputs");
  kk_ = DeviceBuffer(R * C * 4, "kappa");
  vfirst_ = DeviceBuffer(R * C * 4, "v_first");
  y_ = DeviceBuffer(R * C * 4, "wkv output");
  o_ = DeviceBuffer(R * C * es_, "gated output");
  hk_f32_ = DeviceBuffer(R * F * 4, "ffn hidden");
  hk_ = DeviceBuffer(R * F * es_, "ffn hidden");
  head_in_ = DeviceBuffer(HR * C * es_, "head input");
  logits_ = DeviceBuffer(HR * V * 4, "logits");
  const size_t desc = align_up(desc_layout(max_rows_, max_rows_).total, 256) + 4 * HR;
  desc_dev_ = DeviceBuffer(desc, "round descriptor");
  desc_host_ = PinnedBuffer(desc, "round descriptor");

  gemv_ok_ = env_long("RWKV_CUDA_GEMV", 1) != 0;
  auto fits = [&](int K) { return K == 0 || gemv_supported(type_, K, K, x_.get()); };
  gemv_ok_ &= fits(cfg_.n_embd) && fits(cfg_.ffn);
  for (auto& L : w_.layers) gemv_ok_ &= fits(L.dw) && fits(L.da) && fits(L.dv) && fits(L.dg);
}

CudaModelImpl::DescLayout CudaModelImpl::desc_layout(int rows, int n_seq) {
  DescLayout d;
  d.ptrs = 0;
  d.tokens = 8 * static_cast<size_t>(n_seq);
  d.row_seq = d.tokens + 4 * static_cast<size_t>(rows);
  d.seq_start = d.row_seq + 4 * static_cast<size_t>(rows);
  d.seq_len = d.seq_start + 4 * static_cast<size_t>(n_seq);
  d.total = d.seq_len + 4 * static_cast<size_t>(n_seq);
  return d;
}

void CudaModelImpl::check_sequence(const std::string& which, const int32_t* tokens, size_t n, LogitsMode mode,
                                   bool logits_out_given, bool device_logits_allowed) const {
  if (n > 0 && !tokens) throw Error(code::kArgument, which + ": tokens is null");
  if (mode != LogitsMode::None && mode != LogitsMode::Last && mode != LogitsMode::All)
    throw Error(code::kArgument, which + ": unknown logits mode");
  if (mode == LogitsMode::Last && n == 0)
    throw Error(code::kArgument, which + ": logits of the last token were asked for, but it has no tokens");
  if (mode != LogitsMode::None && n > 0 && !logits_out_given && !device_logits_allowed)
    throw Error(code::kArgument, which + ": logits_out is null");
  for (size_t i = 0; i < n; i++)
    if (tokens[i] < 0 || tokens[i] >= cfg_.vocab_size)
      throw Error(code::kToken, "token " + std::to_string(tokens[i]) + " at position " + std::to_string(i) + " of " +
                                    which + " is outside the vocabulary [0, " + std::to_string(cfg_.vocab_size) + ")");
}

void CudaModelImpl::gemm(const void* W, int N, int K, const void* X, int ldx, int rows, void* Y, bool y_f32, int ldy,
                         float beta, const char* what) {
  if (rows == 0 || N == 0) return;
  const float alpha = 1.f;
  // Row-major Y[rows][N] = X[rows][K] * W[N][K]^T is, column-major, Y^T = W^T(op T on W's storage) * X^T.
  check_cublas(blas_api_->gemm_ex(blas_, kCublasOpT, kCublasOpN, N, rows, K, &alpha, W, dtype_, K, X, dtype_, ldx,
                                  &beta, Y, y_f32 ? CUDA_R_32F : dtype_, ldy, kCublasCompute32F, kCublasGemmDefault),
               what);
}

RowLayout CudaModelImpl::upload_descriptor(const std::vector<Job>& jobs, const std::vector<int>& active,
                                           const std::vector<size_t>& offset, const std::vector<int>& take) {
  const int n_seq = static_cast<int>(active.size());
  const int rows = std::accumulate(take.begin(), take.end(), 0);
  const DescLayout d = desc_layout(rows, n_seq);
  RWKV_CUDA_CHECK(cudaEventSynchronize(desc_copied_));  // the previous copy out of the pinned buffer is done
  char* h = desc_host_.as<char>();
  auto* ptrs = reinterpret_cast<float**>(h + d.ptrs);
  auto* tokens = reinterpret_cast<int32_t*>(h + d.tokens);
  auto* row_seq = reinterpret_cast<int32_t*>(h + d.row_seq);
  auto* seq_start = reinterpret_cast<int32_t*>(h + d.seq_start);
  auto* seq_len = reinterpret_cast<int32_t*>(h + d.seq_len);
  int row = 0;
  for (int i = 0; i < n_seq; i++) {
    const Job& j = jobs[active[i]];
    ptrs[i] = j.state;
    std::memcpy(tokens + row, j.tokens + offset[i], sizeof(int32_t) * take[i]);
    for (int t = 0; t < take[i]; t++) row_seq[row + t] = i;
    seq_start[i] = row;
    seq_len[i] = take[i];
    row += take[i];
  }
  RWKV_CUDA_CHECK(cudaMemcpyAsync(desc_dev_.get(), h, d.total, cudaMemcpyHostToDevice, stream_));
  RWKV_CUDA_CHECK(cudaEventRecord(desc_copied_, stream_));
  char* g = desc_dev_.as<char>();
  RowLayout rl;
  rl.states = reinterpret_cast<float* const*>(g + d.ptrs);
  rl.tokens = reinterpret_cast<const int32_t*>(g + d.tokens);
  rl.row_seq = reinterpret_cast<const int32_t*>(g + d.row_seq);
  rl.seq_start = reinterpret_cast<const int32_t*>(g + d.seq_start);
  rl.seq_len = reinterpret_cast<const int32_t*>(g + d.seq_len);
  rl.rows = rows;
  rl.n_seq = n_seq;
  return rl;
}

void CudaModelImpl::head(const std::vector<LogitRow>& rows) {
  const int C = cfg_.n_embd, V = cfg_.vocab_size;
  const size_t rows_off = align_up(desc_layout(max_rows_, max_rows_).total, 256);
  for (size_t s0 = 0; s0 < rows.size(); s0 += head_rows_) {
    const int n = static_cast<int>(std::min<size_t>(head_rows_, rows.size() - s0));
    RWKV_CUDA_CHECK(cudaEventSynchronize(desc_copied_));
    auto* hr = reinterpret_cast<int32_t*>(desc_host_.as<char>() + rows_off);
    for (int i = 0; i < n; i++) hr[i] = rows[s0 + i].row;
    auto* dr = reinterpret_cast<int32_t*>(desc_dev_.as<char>() + rows_off);
    RWKV_CUDA_CHECK(cudaMemcpyAsync(dr, hr, sizeof(int32_t) * n, cudaMemcpyHostToDevice, stream_));
    RWKV_CUDA_CHECK(cudaEventRecord(desc_copied_, stream_));
    launch_ln_gather(type_, x_.as<float>(), dr, n, w_.lnout_w, w_.lnout_b, head_in_.get(), C, stream_);
    if (n <= kGemvMaxRows && gemv_ok_) {
      GemvBatch g;
      GemvProblem p;
      p.W = w_.head;
      p.N = V;
      p.K = C;
      p.X = head_in_.get();
      p.ldx = C;
      p.Y = logits_.get();
      p.ldy = V;
      p.epi = Epilogue::kStoreF32;
      g.add(p);
      launch_gemv(type_, n, g, stream_);
    } else {
      gemm(w_.head, V, C, head_in_.get(), C, n, logits_.get(), true, V, 0.f, "head GEMM");
    }
    bool to_host = false;
    for (int i = 0; i < n; i++) to_host |= rows[s0 + i].dst != nullptr;
    if (!to_host) continue;
    if (!logits_host_.get()) logits_host_ = PinnedBuffer(static_cast<size_t>(head_rows_) * V * 4, "logits staging");
    RWKV_CUDA_CHECK(cudaMemcpyAsync(logits_host_.get(), logits_.get(), static_cast<size_t>(n) * V * 4,
                                    cudaMemcpyDeviceToHost, stream_));
    RWKV_CUDA_CHECK(cudaStreamSynchronize(stream_));
    copy_rows_out(rows.data() + s0, n, logits_host_.as<float>(), V);
  }
}

void CudaModelImpl::run(const std::vector<Job>& jobs) {
  const size_t B = jobs.size();
  const size_t V = cfg_.vocab_size;
  bool one_token = B > 0 && B <= static_cast<size_t>(max_rows_);
  for (auto& j : jobs) one_token &= j.n_tokens == 1;

  if (one_token && use_graphs_) {
    // Decode step: rows and sequences coincide, so the descriptor layout (and every pointer the captured
    // kernels use) depends on B alone.
    std::vector<int> active(B);
    std::iota(active.begin(), active.end(), 0);
    const RowLayout rl = upload_descriptor(jobs, active, std::vector<size_t>(B, 0), std::vector<int>(B, 1));
    graphs_.launch(static_cast<int>(B), stream_, [&] { body(rl, true); });
    std::vector<LogitRow> lr;
    for (size_t i = 0; i < B; i++)
      if (jobs[i].mode != LogitsMode::None) lr.push_back({static_cast<int>(i), jobs[i].logits_out});
    head(lr);
    RWKV_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return;
  }

  std::vector<size_t> done(B, 0);
  for (;;) {
    std::vector<int> active;
    for (size_t j = 0; j < B && static_cast<int>(active.size()) < max_rows_; j++)
      if (done[j] < jobs[j].n_tokens) active.push_back(static_cast<int>(j));
    if (active.empty()) break;
    // Share the round's rows: an even quota first, then what short sequences left over to the long ones.
    const size_t na = active.size();
    const size_t quota = std::max<size_t>(1, max_rows_ / na);
    std::vector<int> take(na);
    std::vector<size_t> off(na);
    size_t left = max_rows_;
    for (size_t i = 0; i < na; i++) {
      off[i] = done[active[i]];
      take[i] = static_cast<int>(std::min(jobs[active[i]].n_tokens - off[i], quota));
      left -= take[i];
    }
    for (size_t i = 0; i < na && left > 0; i++) {
      const size_t extra = std::min(jobs[active[i]].n_tokens - off[i] - take[i], left);
      take[i] += static_cast<int>(extra);
      left -= extra;
    }
    const RowLayout rl = upload_descriptor(jobs, active, off, take);
    body(rl, one_token);
    std::vector<LogitRow> lr;
    int row = 0;
    for (size_t i = 0; i < na; i++) {
      const Job& j = jobs[active[i]];
      if (j.mode == LogitsMode::All) {
        for (int t = 0; t < take[i]; t++)
          lr.push_back({row + t, j.logits_out ? j.logits_out + (off[i] + t) * V : nullptr});
      } else if (j.mode == LogitsMode::Last && off[i] + take[i] == j.n_tokens) {
        lr.push_back({row + take[i] - 1, j.logits_out});
      }
      row += take[i];
    }
    head(lr);
    for (size_t i = 0; i < na; i++) done[active[i]] += take[i];
  }
  RWKV_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaModelImpl::forward(const std::vector<Sequence>& seqs) {
  std::lock_guard<std::mutex> lock(mu_);
  std::unordered_set<const float*> states;
  for (size_t i = 0; i < seqs.size(); i++) {
    const Sequence& s = seqs[i];
    const std::string which = "sequence " + std::to_string(i);
    if (!s.state) throw Error(code::kArgument, which + ": state is null");
    if (!states.insert(s.state).second)
      throw Error(code::kArgument, which + ": shares its state with another sequence");
    check_sequence(which, s.tokens, s.n_tokens, s.logits, s.logits_out != nullptr, false);
  }
  RWKV_CUDA_CHECK(cudaSetDevice(device_));
  const size_t SF = state_floats();
  if (scratch_count_ < seqs.size()) {
    scratch_states_ = DeviceBuffer();
    scratch_states_ = DeviceBuffer(seqs.size() * SF * 4, "states of a forward call");
    scratch_count_ = seqs.size();
  }
  // States cross as host arrays in the CPU engine's layout, which is also the device layout: one copy each way.
  std::vector<Job> jobs(seqs.size());
  for (size_t i = 0; i < seqs.size(); i++) {
    float* d = scratch_states_.as<float>() + i * SF;
    RWKV_CUDA_CHECK(cudaMemcpyAsync(d, seqs[i].state, SF * 4, cudaMemcpyHostToDevice, stream_));
    jobs[i] = Job{seqs[i].tokens, seqs[i].n_tokens, d, seqs[i].logits, seqs[i].logits_out};
  }
  run(jobs);
  for (size_t i = 0; i < seqs.size(); i++)
    RWKV_CUDA_CHECK(cudaMemcpyAsync(seqs[i].state, jobs[i].state, SF * 4, cudaMemcpyDeviceToHost, stream_));
  RWKV_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

float* CudaModelImpl::slot_ptr(int slot) const {
  if (slot < 0 || slot >= static_cast<int>(slots_.size()))
    throw Error(code::kArgument, "state slot " + std::to_string(slot) + " does not exist");
  return slots_[slot];
}

int CudaModelImpl::add_slots(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  if (n <= 0) throw Error(code::kArgument, "add_slots needs a positive count");
  RWKV_CUDA_CHECK(cudaSetDevice(device_));
  const size_t SF = state_floats();
  DeviceBuffer block(static_cast<size_t>(n) * SF * 4, "state slots");
  RWKV_CUDA_CHECK(cudaMemsetAsync(block.get(), 0, block.bytes(), stream_));
  RWKV_CUDA_CHECK(cudaStreamSynchronize(stream_));
  const int first = static_cast<int>(slots_.size());
  for (int i = 0; i < n; i++) slots_.push_back(block.as<float>() + static_cast<size_t>(i) * SF);
  slot_blocks_.push_back(std::move(block));
  return first;
}

int CudaModelImpl::slot_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(slots_.size());
}

void CudaModelImpl::write_slot(int slot, const float* state) {
  std::lock_guard<std::mutex> lock(mu_);
  RWKV_CUDA_CHECK(cudaSetDevice(device_));
  float* d = slot_ptr(slot);
  if (state)
    RWKV_CUDA_CHECK(cudaMemcpyAsync(d, state, state_bytes(), cudaMemcpyHostToDevice, stream_));
  else
    RWKV_CUDA_CHECK(cudaMemsetAsync(d, 0, state_bytes(), stream_));
  RWKV_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaModelImpl::read_slot(int slot, float* state) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!state) throw Error(code::kArgument, "read_slot needs a destination");
  RWKV_CUDA_CHECK(cudaSetDevice(device_));
  RWKV_CUDA_CHECK(cudaMemcpyAsync(state, slot_ptr(slot), state_bytes(), cudaMemcpyDeviceToHost, stream_));
  RWKV_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaModelImpl::forward_slots(const std::vector<SlotSequence>& seqs) {
  std::lock_guard<std::mutex> lock(mu_);
  RWKV_CUDA_CHECK(cudaSetDevice(device_));
  std::unordered_set<int> seen;
  std::vector<Job> jobs;
  jobs.reserve(seqs.size());
  for (size_t i = 0; i < seqs.size(); i++) {
    const SlotSequence& s = seqs[i];
    check_sequence("sequence " + std::to_string(i), s.tokens, s.n_tokens, s.logits, s.logits_out != nullptr, true);
    if (!seen.insert(s.slot).second)
      throw Error(code::kArgument, "state slot " + std::to_string(s.slot) + " appears twice in one call");
    jobs.push_back(Job{s.tokens, s.n_tokens, slot_ptr(s.slot), s.logits, s.logits_out});
  }
  run(jobs);
}

}  // namespace rwkv::cuda
