// The CPU forward pass (docs/rwkv7-spec.md section 3). Per round (batch_plan.h) the tokens of every sequence
// are rows of one activation matrix; per-token work (norms, token shift) runs in parallel over runs of rows,
// the projections are GEMMs over all rows, and the WKV recurrence runs per (sequence segment, head).
// RWKV-7a DeepEmbed (x070-7a) models add a per-token scale of the FFN's hidden units (deep_embed_scale).
#include "cpu/rwkv7_cpu.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include "cpu/aligned_buffer.h"
#include "cpu/batch_plan.h"
#include "cpu/cpu_weights.h"
#include "cpu/float16.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "cpu/threadpool.h"
#include "rwkv/error.h"

namespace rwkv::cpu {

namespace {

constexpr int kMaxRoundRows = 1024;                   // large enough that a GEMM is compute-bound
constexpr size_t kScratchBudget = size_t{256} << 20;  // activation memory for one round
constexpr int kRunRows = 16;                          // rows per task of per-token work

BType btype_of(WeightType w) {
  switch (w) {
    case WeightType::F32: return BType::F32;
    case WeightType::BF16: return BType::BF16;
    case WeightType::F16: return BType::F16;
    case WeightType::I8: return BType::I8;
  }
  throw Error(code::kArgument, "unknown weight type");
}

class CpuModel final : public Model {
 public:
  CpuModel(std::shared_ptr<const TensorFile> file, const Rwkv7Params& p, const EngineOptions& opts, Isa isa)
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
    layer_state_ = 2 * static_cast<size_t>(C_) + static_cast<size_t>(H_) * N_ * N_;
    for (const auto& r : config_.ranks) {
      rank_w_ = std::max(rank_w_, r.w);
      rank_a_ = std::max(rank_a_, r.a);
      rank_v_ = std::max(rank_v_, r.v);
      rank_g_ = std::max(rank_g_, r.g);
    }
    D_ = p.deep_embed_rank;
    const size_t per_row =
        4 * (12 * static_cast<size_t>(C_) + rank_w_ + rank_a_ + rank_v_ + rank_g_ + F_ + deep_embed_floats(1));
    max_rows_ = static_cast<int>(std::clamp<size_t>(kScratchBudget / per_row, 16, kMaxRoundRows));
    fingerprint_ = fingerprint_tensors(file_->tensors());
    w_ = build_cpu_weights(p, btype_of(opts.weights), pool_);
    worker_.resize(static_cast<size_t>(pool_.size()));
    for (auto& b : worker_) b.reset((wkv_scratch_floats(N_) + static_cast<size_t>(C_)) * sizeof(float));
  }

  const ModelConfig& config() const override { return config_; }
  const std::string& fingerprint() const override { return fingerprint_; }
  std::string device() const override { return "cpu"; }

  void forward(const std::vector<Sequence>& seqs) override {
    std::lock_guard<std::mutex> lock(mu_);
    validate_sequences(seqs, V_);
    for (const Round& round : plan_rounds(seqs, max_rows_)) {
      ensure_scratch(round.rows);
      run_round(seqs, round);
    }
  }

 private:
  static size_t round_up(size_t n) { return (n + 15) / 16 * 16; }  // keeps every buffer 64-byte aligned

  // DeepEmbed scratch for `rows` rows (0 for plain x070): the ln0-normed embeddings, the D x D matrices, the
  // two D-vectors and the F scales.
  size_t deep_embed_floats(size_t rows) const {
    if (D_ == 0) return 0;
    const size_t D = static_cast<size_t>(D_);
    return round_up(rows * C_) + round_up(rows * D * D) + 2 * round_up(rows * D) + round_up(rows * F_);
  }

  void ensure_scratch(int rows) {
    if (rows <= act_rows_) return;
    const size_t R = static_cast<size_t>(rows);
    const size_t rc = round_up(R * C_);
    const size_t total = 12 * rc + round_up(R * rank_w_) + round_up(R * rank_a_) + round_up(R * rank_v_) +
                         round_up(R * rank_g_) + round_up(R * F_) + deep_embed_floats(R);
    act_.reset(total * sizeof(float));
    float* p = act_.as<float>();
    auto take = [&](size_t n) {
      float* q = p;
      p += round_up(n);
      return q;
    };
    for (float** b : {&x_, &u_, &xr_, &xw_, &xk_, &xv_, &xa_, &xg_, &r_, &k_, &v_, &vfirst_}) *b = take(R * C_);
    hw_ = take(R * rank_w_);
    ha_ = take(R * rank_a_);
    hv_ = take(R * rank_v_);
    hg_ = take(R * rank_g_);
    ffn_ = take(R * F_);
    if (D_ > 0) {
      const size_t D = static_cast<size_t>(D_);
      e0_ = take(R * C_);
      de_m_ = take(R * D * D);
      de_h_ = take(R * D);
      de_s_ = take(R * D);
      de_scale_ = take(R * F_);
    }
    row_tokens_.resize(R);
    act_rows_ = rows;
  }

  float* row(float* base, int r) const { return base + static_cast<size_t>(r) * C_; }
  float* layer_state(const Sequence& s, int l) const { return s.state + static_cast<size_t>(l) * layer_state_; }

  // Row `r` (n values) of a file tensor in fp32: into `out`, or added to it.
  static void read_row(const TensorView& t, int32_t r, size_t n, float* out, bool add) {
    const size_t off = static_cast<size_t>(r) * n;
    if (t.dtype == DType::F32) {
      const float* f = reinterpret_cast<const float*>(t.data) + off;
      if (add)
        for (size_t c = 0; c < n; c++) out[c] += f[c];
      else
        std::memcpy(out, f, 4 * n);
      return;
    }
    const uint16_t* h = reinterpret_cast<const uint16_t*>(t.data) + off;
    const bool bf = t.dtype == DType::BF16;
    for (size_t c = 0; c < n; c++) {
      const float v = bf ? bf16_to_f32(h[c]) : f16_to_f32(h[c]);
      out[c] = add ? out[c] + v : v;
    }
  }

  void embed_row(int32_t token, float* out) const { read_row(w_.emb, token, static_cast<size_t>(C_), out, false); }

  // Layer norm + token shift + interpolations over every run; then each segment's last normed row becomes
  // the state's x_prev. `prev_at` gives a segment's state vector for the token before its first.
  template <class PrevAt>
  void shift_mix(const std::vector<Run>& runs, const Round& round, const std::vector<float>& ln_w,
                 const std::vector<float>& ln_b, int n_mix, const float* const* coef, float* const* mix,
                 PrevAt prev_at) {
    pool_.parallel_for(runs.size(), [&](size_t i, int worker) {
      const Run& run = runs[i];
      const Segment& seg = round.segments[static_cast<size_t>(run.segment)];
      ShiftMixArgs a;
      if (run.row == seg.row) {
        a.prev = prev_at(seg);
      } else {
        // The previous row belongs to another run: recompute its norm (same kernel, same bits).
        float* tmp = worker_[static_cast<size_t>(worker)].as<float>() + wkv_scratch_floats(N_);
        kern_.layer_norm(row(x_, run.row - 1), C_, ln_w.data(), ln_b.data(), tmp);
        a.prev = tmp;
      }
      a.n_tokens = run.len;
      a.dim = C_;
      a.stride = static_cast<size_t>(C_);
      a.x = row(x_, run.row);
      a.ln_w = ln_w.data();
      a.ln_b = ln_b.data();
      a.u = row(u_, run.row);
      a.n_mix = n_mix;
      for (int q = 0; q < n_mix; q++) {
        a.coef[q] = coef[q];
        a.mix[q] = row(mix[q], run.row);
      }
      kern_.shift_mix(a);
    });
    for (const Segment& seg : round.segments)
      std::memcpy(const_cast<float*>(prev_at(seg)), row(u_, seg.row + seg.len - 1), sizeof(float) * C_);
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

  void run_layer(const std::vector<Sequence>& seqs, const Round& round, const std::vector<Run>& runs, int l) {
    const CpuLayer& w = w_.layers[static_cast<size_t>(l)];
    const int T = round.rows;
    const size_t C = static_cast<size_t>(C_);
    const int rw = w.ranks.w, ra = w.ranks.a, rv = w.ranks.v, rg = w.ranks.g;

    // Time mix: norm, token shift, six interpolations.
    {
      const float* coef[6] = {w.x_r.data(), w.x_w.data(), w.x_k.data(), w.x_v.data(), w.x_a.data(), w.x_g.data()};
      float* mix[6] = {xr_, xw_, xk_, xv_, xa_, xg_};
      shift_mix(runs, round, w.ln1_w, w.ln1_b, 6, coef, mix,
                [&](const Segment& s) { return layer_state(seqs[s.seq], l); });
    }
    // Projections and the LoRA down-projections (one parallel region).
    {
      GemmJob jobs[7] = {job(T, xr_, C, w.receptance, r_, C), job(T, xk_, C, w.key, k_, C),
                         job(T, xv_, C, w.value, v_, C),      job(T, xw_, C, w.w1, hw_, rw),
                         job(T, xa_, C, w.a1, ha_, ra),       job(T, xg_, C, w.g1, hg_, rg),
                         job(T, xv_, C, w.v1, hv_, rv)};
      gemm_.run(pool_, jobs, l > 0 ? 7 : 6);
    }
    pool_.parallel_for(runs.size(), [&](size_t i, int) {
      const Run& run = runs[i];
      kern_.tanh_inplace(hw_ + static_cast<size_t>(run.row) * rw, static_cast<size_t>(run.len) * rw);
      kern_.sigmoid_inplace(hg_ + static_cast<size_t>(run.row) * rg, static_cast<size_t>(run.len) * rg);
    });
    // LoRA up-projections into the (now free) interpolation buffers: xw <- decay pre-activation, xa <- a
    // pre-activation, xg <- gate, xv <- value-gate pre-activation.
    {
      GemmJob jobs[4] = {job(T, hw_, rw, w.w2, xw_, C), job(T, ha_, ra, w.a2, xa_, C), job(T, hg_, rg, w.g2, xg_, C),
                         job(T, hv_, rv, w.v2, xv_, C)};
      gemm_.run(pool_, jobs, l > 0 ? 4 : 3);
    }
    // WKV per (segment, head), output (GroupNorm + bonus) * gate into xr.
    {
      const size_t H = static_cast<size_t>(H_), N = static_cast<size_t>(N_);
      pool_.parallel_for(round.segments.size() * H, [&](size_t task, int worker) {
        const Segment& seg = round.segments[task / H];
        const size_t h = task % H;
        const size_t off = static_cast<size_t>(seg.row) * C + h * N;
        WkvArgs a;
        a.n_tokens = seg.len;
        a.head_size = N_;
        a.stride = C;
        a.r = r_ + off;
        a.k = k_ + off;
        a.v = v_ + off;
        a.zw = xw_ + off;
        a.za = xa_ + off;
        a.zv = l > 0 ? xv_ + off : nullptr;
        a.v_first = vfirst_ + off;
        a.g = xg_ + off;
        a.out = xr_ + off;
        a.w0 = w.w0.data() + h * N;
        a.a0 = w.a0.data() + h * N;
        a.v0 = l > 0 ? w.v0.data() + h * N : nullptr;
        a.k_k = w.k_k.data() + h * N;
        a.k_a = w.k_a.data() + h * N;
        a.r_k = w.r_k.data() + h * N;
        a.ln_w = w.ln_x_w.data() + h * N;
        a.ln_b = w.ln_x_b.data() + h * N;
        a.state = layer_state(seqs[seg.seq], l) + C + h * N * N;
        a.scratch = worker_[static_cast<size_t>(worker)].as<float>();
        kern_.wkv(a);
      });
    }
    gemm_.run(pool_, job(T, xr_, C, w.output, x_, C, true));

    // Channel mix.
    {
      const float* coef[1] = {w.ffn_x_k.data()};
      float* mix[1] = {xk_};
      const size_t ffn_prev = C + static_cast<size_t>(H_) * N_ * N_;
      shift_mix(runs, round, w.ln2_w, w.ln2_b, 1, coef, mix,
                [&](const Segment& s) { return layer_state(seqs[s.seq], l) + ffn_prev; });
    }
    gemm_.run(pool_, job(T, xk_, C, w.ffn_key, ffn_, static_cast<size_t>(F_), false, true));
    if (D_ > 0) deep_embed_scale(runs, w, T);
    gemm_.run(pool_, job(T, ffn_, static_cast<size_t>(F_), w.ffn_value, x_, C, true));
  }

  // x070-7a: each row's FFN hidden units (ffn_) times (u s1) M s2 + s0, where u is the row's ln2 output
  // (still in u_), and M, viewed as D x D row-major, is its token's s_emb row plus s_emb_x applied to the
  // token's ln0-normed embedding (e0_): the official loader folds that product into s_emb for every
  // vocabulary entry; here it is computed for the round's tokens only.
  void deep_embed_scale(const std::vector<Run>& runs, const CpuLayer& w, int T) {
    const size_t C = static_cast<size_t>(C_), D = static_cast<size_t>(D_), DD = D * D, F = static_cast<size_t>(F_);
    const bool has_x = w.s_emb_x.data != nullptr;
    {
      GemmJob jobs[2] = {job(T, u_, C, w.s1, de_h_, D), job(T, e0_, C, w.s_emb_x, de_m_, DD)};
      gemm_.run(pool_, jobs, has_x ? 2 : 1);
    }
    pool_.parallel_for(runs.size(), [&](size_t i, int) {
      const Run& run = runs[i];
      for (int r = run.row; r < run.row + run.len; r++) {
        const size_t ri = static_cast<size_t>(r);
        float* m = de_m_ + ri * DD;
        read_row(w.s_emb, row_tokens_[ri], DD, m, has_x);
        const float* h = de_h_ + ri * D;
        float* __restrict s = de_s_ + ri * D;
        std::fill(s, s + D, 0.0f);
        for (size_t a = 0; a < D; a++) {
          const float ha = h[a];
          const float* __restrict mr = m + a * D;
          for (size_t b = 0; b < D; b++) s[b] += ha * mr[b];
        }
        std::memcpy(de_scale_ + ri * F, w.s0.data(), F * sizeof(float));
      }
    });
    gemm_.run(pool_, job(T, de_s_, D, w.s2, de_scale_, F, true));
    pool_.parallel_for(runs.size(), [&](size_t i, int) {
      const Run& run = runs[i];
      const size_t off = static_cast<size_t>(run.row) * F, len = static_cast<size_t>(run.len) * F;
      float* __restrict k = ffn_ + off;
      const float* __restrict g = de_scale_ + off;
      for (size_t j = 0; j < len; j++) k[j] *= g[j];
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
        kern_.layer_norm(xr, C_, w_.ln0_w.data(), w_.ln0_b.data(), xr);
        row_tokens_[static_cast<size_t>(run.row + j)] = tokens[j];
        if (D_ > 0) std::memcpy(row(e0_, run.row + j), xr, sizeof(float) * C_);
      }
    });
    for (int l = 0; l < L_; l++) run_layer(seqs, round, runs, l);
    run_head(seqs, round);
  }

  std::shared_ptr<const TensorFile> file_;  // owns the embedding rows read at run time
  ModelConfig config_;
  std::string fingerprint_;
  const CpuKernels& kern_;
  ThreadPool pool_;
  Gemm gemm_;
  CpuWeights w_;
  int C_ = 0, H_ = 0, N_ = 0, V_ = 0, F_ = 0, L_ = 0;
  int rank_w_ = 0, rank_a_ = 0, rank_v_ = 0, rank_g_ = 0;
  int D_ = 0;  // DeepEmbed rank; 0 for plain x070
  size_t layer_state_ = 0;
  int max_rows_ = 0;

  std::mutex mu_;
  AlignedBuffer act_;
  int act_rows_ = 0;
  float *x_ = nullptr, *u_ = nullptr, *xr_ = nullptr, *xw_ = nullptr, *xk_ = nullptr, *xv_ = nullptr, *xa_ = nullptr,
        *xg_ = nullptr, *r_ = nullptr, *k_ = nullptr, *v_ = nullptr, *vfirst_ = nullptr;
  float *hw_ = nullptr, *ha_ = nullptr, *hv_ = nullptr, *hg_ = nullptr, *ffn_ = nullptr;
  float *e0_ = nullptr, *de_m_ = nullptr, *de_h_ = nullptr, *de_s_ = nullptr, *de_scale_ = nullptr;  // DeepEmbed
  std::vector<int32_t> row_tokens_;    // the token of each row of the round
  std::vector<AlignedBuffer> worker_;  // per thread: WKV scratch, then one row
  std::vector<int> head_rows_;
  std::vector<float*> head_dst_;
};

}  // namespace

std::shared_ptr<Model> make_cpu_model(std::shared_ptr<const TensorFile> file, const Rwkv7Params& params,
                                      const EngineOptions& options, Isa isa) {
  if (!isa_supported(isa)) throw Error(code::kDevice, std::string("this CPU does not support ") + isa_name(isa));
  if (options.threads < 0) throw Error(code::kArgument, "threads must be >= 0");
  return std::make_shared<CpuModel>(std::move(file), params, options, isa);
}

std::shared_ptr<Model> make_cpu_model(std::shared_ptr<const TensorFile> file, const Rwkv7Params& params,
                                      const EngineOptions& options) {
  return make_cpu_model(std::move(file), params, options, preferred_isa());
}

}  // namespace rwkv::cpu
