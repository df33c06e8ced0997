// The CPU forward pass of RWKV-4/5/6 (rwkv7-spec §7; the official package's formulas). As for RWKV-7, the
// tokens of every sequence of a round (batch_plan.h) are rows of one activation matrix: norms and token
// shifts run in parallel over runs of rows, every projection is one GEMM over all rows, and the recurrence
// runs per (sequence segment, head) — per (segment, channel block) for RWKV-4.
#include "cpu/rwkv456_cpu.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "cpu/aligned_buffer.h"
#include "cpu/batch_plan.h"
#include "cpu/float16.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "cpu/official_ln0.h"
#include "cpu/rwkv456_weights.h"
#include "cpu/threadpool.h"
#include "cpu/wkv456.h"
#include "model/rwkv7_params.h"
#include "model/state_layout.h"
#include "rwkv/error.h"

namespace rwkv::cpu {

namespace {

constexpr int kMaxRoundRows = 1024;                   // large enough that a GEMM is compute-bound
constexpr size_t kScratchBudget = size_t{256} << 20;  // activation memory for one round
constexpr int kRunRows = 16;                          // rows per task of per-token work
constexpr int kV4Block = 256;                         // channels per RWKV-4 recurrence task

BType btype_of(WeightType w) {
  switch (w) {
    case WeightType::F32: return BType::F32;
    case WeightType::BF16: return BType::BF16;
    case WeightType::F16: return BType::F16;
    case WeightType::I8: return BType::I8;
  }
  throw Error(code::kArgument, "unknown weight type");
}

class Rwkv456CpuModel final : public Model {
 public:
  Rwkv456CpuModel(std::shared_ptr<const TensorFile> file, const Rwkv456Params& p, const EngineOptions& opts, Isa isa)
      : file_(std::move(file)),
        config_(p.config),
        kern_(kernels_for(isa)),
        pool_(opts.threads),
        gemm_(kern_, pool_.size()) {
    C_ = config_.n_embd;
    H_ = config_.n_head;
    N_ = config_.head_size;
    V_ = config_.vocab_size;
    F_ = config_.ffn;
    L_ = config_.n_layer;
    v4_ = config_.version == "v4";
    v6_ = config_.version == "x060";
    gated_ = config_.version == "x051" || config_.version == "x052" || v6_;
    gn_eps_ = p.group_norm_eps;
    layout_ = state_layout(config_);
    for (const auto& r : config_.ranks) {
      rank_mix_ = std::max(rank_mix_, r.mix);
      rank_w_ = std::max(rank_w_, r.w);
    }
    const size_t per_row = 4 * (15 * static_cast<size_t>(C_) + 5 * static_cast<size_t>(rank_mix_) + rank_w_ + F_);
    max_rows_ = static_cast<int>(std::clamp<size_t>(kScratchBudget / per_row, 16, kMaxRoundRows));
    fingerprint_ = fingerprint_tensors(file_->tensors());
    w_ = build_rwkv456_weights(p, btype_of(opts.weights), pool_);
    initial_.resize(state_floats());
    zero_state(config_, initial_.data());
    // A state-tuned checkpoint carries its initial state; it is checked here so a bad one fails at load time.
    apply_time_state(file_->tensors(), config_, initial_.data(), "the model file");
    worker_.resize(static_cast<size_t>(pool_.size()));
    for (auto& b : worker_) b.reset(wkv5_scratch_floats(std::max(N_, 1)) * sizeof(float));
  }

  const ModelConfig& config() const override { return config_; }
  const std::string& fingerprint() const override { return fingerprint_; }
  std::string device() const override { return "cpu"; }
  void initial_state(float* state) const override { std::copy(initial_.begin(), initial_.end(), state); }

  void forward(const std::vector<Sequence>& seqs) override {
    std::lock_guard<std::mutex> lock(mu_);
    validate_sequences(seqs, V_);
    for (const Round& round : plan_rounds(seqs, max_rows_)) {
      ensure_scratch(round.rows);
      run_round(seqs, round);
    }
  }

 private:
  void ensure_scratch(int rows) {
    if (rows <= act_rows_) return;
    const size_t R = static_cast<size_t>(rows);
    auto round_up = [](size_t n) { return (n + 15) / 16 * 16; };  // keep every buffer 64-byte aligned
    const size_t rc = round_up(R * C_);
    const size_t total =
        15 * rc + round_up(R * 5 * static_cast<size_t>(rank_mix_)) + round_up(R * rank_w_) + round_up(R * F_);
    act_.reset(total * sizeof(float));
    float* p = act_.as<float>();
    auto take = [&](size_t n) {
      float* q = p;
      p += round_up(n);
      return q;
    };
    for (float** b : {&x_, &u_, &dx_, &tmp_, &xk_, &xv_, &xr_, &xg_, &xw_, &r_, &k_, &v_, &g_, &y_, &kv_})
      *b = take(R * C_);
    hm_ = take(R * 5 * static_cast<size_t>(rank_mix_));
    hw_ = take(R * rank_w_);
    ffn_ = take(R * F_);
    act_rows_ = rows;
  }

  float* row(float* base, int r) const { return base + static_cast<size_t>(r) * C_; }
  float* layer_state(const Sequence& s, int l) const { return s.state + static_cast<size_t>(l) * layout_.per_layer; }

  void embed_row(int32_t token, float* out) const {
    const TensorView& e = w_.emb;
    const size_t off = static_cast<size_t>(token) * C_;
    if (e.dtype == DType::F32) {
      std::memcpy(out, e.data + 4 * off, 4 * static_cast<size_t>(C_));
    } else {
      const uint16_t* h = reinterpret_cast<const uint16_t*>(e.data) + off;
      if (e.dtype == DType::BF16)
        for (int c = 0; c < C_; c++) out[c] = bf16_to_f32(h[c]);
      else
        for (int c = 0; c < C_; c++) out[c] = f16_to_f32(h[c]);
    }
  }

  // Layer norm of every row into u_, the shift difference dx_ = prev − u (prev: the previous row's normed
  // value, or the state's x_prev for a segment's first row), and n_mix interpolations u + dx·coef. Then each
  // segment's last normed row becomes the state's x_prev. Two parallel passes, so a run never reads a row
  // another run has not normed yet.
  template <class PrevAt>
  void token_shift(const std::vector<Run>& runs, const Round& round, const std::vector<float>& ln_w,
                   const std::vector<float>& ln_b, int n_mix, const float* const* coef, float* const* mix,
                   PrevAt prev_at) {
    const size_t C = static_cast<size_t>(C_);
    pool_.parallel_for(runs.size(), [&](size_t i, int) {
      const Run& run = runs[i];
      for (int j = run.row; j < run.row + run.len; j++)
        kern_.layer_norm(row(x_, j), C_, ln_w.data(), ln_b.data(), row(u_, j));
    });
    pool_.parallel_for(runs.size(), [&](size_t i, int) {
      const Run& run = runs[i];
      const Segment& seg = round.segments[static_cast<size_t>(run.segment)];
      for (int j = run.row; j < run.row + run.len; j++) {
        const float* __restrict u = row(u_, j);
        const float* __restrict prev = j == seg.row ? prev_at(seg) : row(u_, j - 1);
        float* __restrict d = row(dx_, j);
        for (size_t c = 0; c < C; c++) d[c] = prev[c] - u[c];
        for (int q = 0; q < n_mix; q++) {
          const float* __restrict cf = coef[q];
          float* __restrict o = row(mix[q], j);
          for (size_t c = 0; c < C; c++) o[c] = u[c] + d[c] * cf[c];
        }
      }
    });
    for (const Segment& seg : round.segments)
      std::memcpy(prev_at(seg), row(u_, seg.row + seg.len - 1), sizeof(float) * C);
  }

  // fn(first_row, rows) over the round's runs, in parallel.
  template <class Fn>
  void per_runs(const std::vector<Run>& runs, Fn fn) {
    pool_.parallel_for(runs.size(), [&](size_t i, int) { fn(runs[i].row, runs[i].len); });
  }

  GemmJob job(int M, const float* a, size_t lda, const PackedMatrix& b, float* c, size_t ldc, bool acc = false,
              bool relu_sq = false) const {
    GemmJob j;
    j.M = M;
    j.a = a;
    j.lda = lda;
    j.b = &b;
    j.c = c;
    j.ldc = ldc;
    j.accumulate = acc;
    j.relu_square = relu_sq;
    return j;
  }

  static void silu_inplace(float* x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + std::exp(-x[i]));
  }

  // x060's data-dependent token shift: xxx = u + dx·maa_x; five LoRA offsets m = tanh(xxx·W1) per group ·
  // W2[group]; then x_q = u + dx·(maa_q + m_q) for q in w, k, v, r, g.
  void v6_mixes(const std::vector<Run>& runs, const Rwkv456CpuLayer& w, int T) {
    const size_t C = static_cast<size_t>(C_);
    const int D = w.maa_w1.N / 5;
    const size_t ld = static_cast<size_t>(w.maa_w1.N);
    gemm_.run(pool_, job(T, tmp_, C, w.maa_w1, hm_, ld));
    per_runs(runs, [&](int r0, int n) {
      kern_.tanh_inplace(hm_ + static_cast<size_t>(r0) * ld, static_cast<size_t>(n) * ld);
    });
    float* outs[5] = {xw_, xk_, xv_, xr_, xg_};
    const std::vector<float>* maa[5] = {&w.maa_w, &w.maa_k, &w.maa_v, &w.maa_r, &w.maa_g};
    GemmJob jobs[5];
    for (int q = 0; q < 5; q++)
      jobs[q] = job(T, hm_ + static_cast<size_t>(q) * D, ld, w.maa_w2[static_cast<size_t>(q)], outs[q], C);
    gemm_.run(pool_, jobs, 5);
    per_runs(runs, [&](int r0, int n) {
      for (int j = r0; j < r0 + n; j++) {
        const float* __restrict u = row(u_, j);
        const float* __restrict d = row(dx_, j);
        for (int q = 0; q < 5; q++) {
          const float* __restrict m = maa[q]->data();
          float* __restrict o = row(outs[q], j);
          for (size_t c = 0; c < C; c++) o[c] = u[c] + d[c] * (m[c] + o[c]);
        }
      }
    });
  }

  void time_mix(const std::vector<Sequence>& seqs, const Round& round, const std::vector<Run>& runs, int l) {
    const Rwkv456CpuLayer& w = w_.layers[static_cast<size_t>(l)];
    const int T = round.rows;
    const size_t C = static_cast<size_t>(C_);
    auto att_prev = [&](const Segment& s) { return layer_state(seqs[s.seq], l) + layout_.att_prev; };

    if (v6_) {
      const float* coef[1] = {w.maa_x.data()};
      float* mix[1] = {tmp_};
      token_shift(runs, round, w.ln1_w, w.ln1_b, 1, coef, mix, att_prev);
      v6_mixes(runs, w, T);
    } else {
      const float* coef[4] = {w.coef_k.data(), w.coef_v.data(), w.coef_r.data(), gated_ ? w.coef_g.data() : nullptr};
      float* mix[4] = {xk_, xv_, xr_, xg_};
      token_shift(runs, round, w.ln1_w, w.ln1_b, gated_ ? 4 : 3, coef, mix, att_prev);
    }

    {
      GemmJob jobs[5] = {job(T, xr_, C, w.receptance, r_, C), job(T, xk_, C, w.key, k_, C),
                         job(T, xv_, C, w.value, v_, C)};
      size_t n = 3;
      if (gated_) jobs[n++] = job(T, xg_, C, w.gate, g_, C);
      if (v6_) jobs[n++] = job(T, xw_, C, w.decay_w1, hw_, static_cast<size_t>(rank_w_));
      gemm_.run(pool_, jobs, n);
    }
    per_runs(runs, [&](int r0, int n) {
      const size_t off = static_cast<size_t>(r0) * C, len = static_cast<size_t>(n) * C;
      if (v4_) kern_.sigmoid_inplace(r_ + off, len);
      if (gated_) silu_inplace(g_ + off, len);
      if (v6_) kern_.tanh_inplace(hw_ + static_cast<size_t>(r0) * rank_w_, static_cast<size_t>(n) * rank_w_);
    });
    if (v6_) gemm_.run(pool_, job(T, hw_, static_cast<size_t>(rank_w_), w.decay_w2, xw_, C));

    if (v4_) {
      const size_t blocks = (C + kV4Block - 1) / kV4Block;
      pool_.parallel_for(round.segments.size() * blocks, [&](size_t task, int) {
        const Segment& seg = round.segments[task / blocks];
        const size_t c0 = (task % blocks) * kV4Block;
        const size_t off = static_cast<size_t>(seg.row) * C + c0;
        float* st = layer_state(seqs[seg.seq], l) + layout_.wkv;
        Wkv4Args a;
        a.n_tokens = seg.len;
        a.n = static_cast<int>(std::min<size_t>(kV4Block, C - c0));
        a.stride = C;
        a.r = r_ + off;
        a.k = k_ + off;
        a.v = v_ + off;
        a.out = y_ + off;
        a.decay = w.decay.data() + c0;
        a.first = w.bonus.data() + c0;
        a.aa = st + c0;
        a.bb = st + C + c0;
        a.pp = st + 2 * C + c0;
        wkv4(a);
      });
    } else {
      const size_t H = static_cast<size_t>(H_), N = static_cast<size_t>(N_);
      pool_.parallel_for(round.segments.size() * H, [&](size_t task, int worker) {
        const Segment& seg = round.segments[task / H];
        const size_t h = task % H;
        const size_t off = static_cast<size_t>(seg.row) * C + h * N;
        Wkv5Args a;
        a.n_tokens = seg.len;
        a.head_size = N_;
        a.stride = C;
        a.r = r_ + off;
        a.k = k_ + off;
        a.v = v_ + off;
        if (v6_) {
          a.decay_base = w.decay.data() + h * N;
          a.decay_z = xw_ + off;
        } else {
          a.decay = w.decay.data() + h * N;
        }
        a.bonus = w.bonus.data() + h * N;
        a.ln_w = w.ln_x_w.data() + h * N;
        a.ln_b = w.ln_x_b.data() + h * N;
        a.gn_eps = gn_eps_;
        a.gate = gated_ ? g_ + off : nullptr;
        a.out = y_ + off;
        a.state = layer_state(seqs[seg.seq], l) + layout_.wkv + h * N * N;
        a.scratch = worker_[static_cast<size_t>(worker)].as<float>();
        wkv5(a);
      });
    }
    gemm_.run(pool_, job(T, y_, C, w.output, x_, C, true));
  }

  // Channel mix: x += sigmoid(Rf·xr) ⊙ Vf·relu(Kf·xk)².
  void channel_mix(const std::vector<Sequence>& seqs, const Round& round, const std::vector<Run>& runs, int l) {
    const Rwkv456CpuLayer& w = w_.layers[static_cast<size_t>(l)];
    const int T = round.rows;
    const size_t C = static_cast<size_t>(C_), F = static_cast<size_t>(F_);
    {
      const float* coef[2] = {w.ffn_coef_k.data(), w.ffn_coef_r.data()};
      float* mix[2] = {xk_, xr_};
      token_shift(runs, round, w.ln2_w, w.ln2_b, 2, coef, mix,
                  [&](const Segment& s) { return layer_state(seqs[s.seq], l) + layout_.ffn_prev; });
    }
    {
      GemmJob jobs[2] = {job(T, xk_, C, w.ffn_key, ffn_, F, false, true), job(T, xr_, C, w.ffn_receptance, r_, C)};
      gemm_.run(pool_, jobs, 2);
    }
    gemm_.run(pool_, job(T, ffn_, F, w.ffn_value, kv_, C));
    per_runs(runs, [&](int r0, int n) {
      const size_t off = static_cast<size_t>(r0) * C, len = static_cast<size_t>(n) * C;
      kern_.sigmoid_inplace(r_ + off, len);
      float* __restrict x = x_ + off;
      const float* __restrict r = r_ + off;
      const float* __restrict kv = kv_ + off;
      for (size_t i = 0; i < len; i++) x[i] += r[i] * kv[i];
    });
  }

  void run_head(const std::vector<Sequence>& seqs, const Round& round) {
    head_rows(seqs, round, static_cast<size_t>(V_), head_rows_, head_dst_);
    if (head_rows_.empty()) return;
    const size_t n = head_rows_.size();
    const size_t chunks = (n + kRunRows - 1) / kRunRows;
    pool_.parallel_for(chunks, [&](size_t c, int) {
      for (size_t i = c * kRunRows; i < std::min(n, (c + 1) * kRunRows); i++)
        kern_.layer_norm(row(x_, head_rows_[i]), C_, w_.ln_out_w.data(), w_.ln_out_b.data(),
                         row(u_, static_cast<int>(i)));
    });
    GemmJob j = job(static_cast<int>(n), u_, static_cast<size_t>(C_), w_.head, nullptr, 0);
    j.c_rows = head_dst_.data();
    gemm_.run(pool_, j);
  }

  void run_round(const std::vector<Sequence>& seqs, const Round& round) {
    const std::vector<Run> runs = split_runs(round, kRunRows);
    pool_.parallel_for(runs.size(), [&](size_t i, int) {
      const Run& run = runs[i];
      const Segment& seg = round.segments[static_cast<size_t>(run.segment)];
      const int32_t* tokens = seqs[seg.seq].tokens + seg.begin + (run.row - seg.row);
      for (int j = 0; j < run.len; j++) {
        float* xr = row(x_, run.row + j);
        embed_row(tokens[j], xr);
        if (w_.official_bf16_ln0)
          official_bf16_ln0(xr, C_, w_.ln0_w.data(), w_.ln0_b.data(), xr);
        else
          kern_.layer_norm(xr, C_, w_.ln0_w.data(), w_.ln0_b.data(), xr);
      }
    });
    for (int l = 0; l < L_; l++) {
      time_mix(seqs, round, runs, l);
      channel_mix(seqs, round, runs, l);
    }
    run_head(seqs, round);
  }

  std::shared_ptr<const TensorFile> file_;  // owns the embedding rows read at run time
  ModelConfig config_;
  std::string fingerprint_;
  const CpuKernels& kern_;
  ThreadPool pool_;
  Gemm gemm_;
  Rwkv456CpuWeights w_;
  StateLayout layout_;
  std::vector<float> initial_;
  int C_ = 0, H_ = 0, N_ = 0, V_ = 0, F_ = 0, L_ = 0;
  int rank_mix_ = 0, rank_w_ = 0;
  bool v4_ = false, v6_ = false, gated_ = false;
  float gn_eps_ = 0.0f;
  int max_rows_ = 0;

  std::mutex mu_;
  AlignedBuffer act_;
  int act_rows_ = 0;
  float *x_ = nullptr, *u_ = nullptr, *dx_ = nullptr, *tmp_ = nullptr, *xk_ = nullptr, *xv_ = nullptr, *xr_ = nullptr,
        *xg_ = nullptr, *xw_ = nullptr, *r_ = nullptr, *k_ = nullptr, *v_ = nullptr, *g_ = nullptr, *y_ = nullptr,
        *kv_ = nullptr;
  float *hm_ = nullptr, *hw_ = nullptr, *ffn_ = nullptr;
  std::vector<AlignedBuffer> worker_;  // per thread: WKV scratch
  std::vector<int> head_rows_;
  std::vector<float*> head_dst_;
};

}  // namespace

std::shared_ptr<Model> make_rwkv456_cpu_model(std::shared_ptr<const TensorFile> file, const Rwkv456Params& params,
                                              const EngineOptions& options, Isa isa) {
  if (!isa_supported(isa)) throw Error(code::kDevice, std::string("this CPU does not support ") + isa_name(isa));
  if (options.threads < 0) throw Error(code::kArgument, "threads must be >= 0");
  return std::make_shared<Rwkv456CpuModel>(std::move(file), params, options, isa);
}

std::shared_ptr<Model> make_rwkv456_cpu_model(std::shared_ptr<const TensorFile> file, const Rwkv456Params& params,
                                              const EngineOptions& options) {
  return make_rwkv456_cpu_model(std::move(file), params, options, preferred_isa());
}

}  // namespace rwkv::cpu
