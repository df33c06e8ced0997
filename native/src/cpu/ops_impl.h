// Element-wise kernels and the WKV recurrence, written as plain loops that the compiler vectorizes. This file
// is included once by each kernels_<isa>.cc, inside a namespace of its own, so each instruction set gets its
// own vectorization of the same source. Everything here has internal linkage (see float16.h for why), and
// reductions keep 16 partial sums so they vectorize without reassociation flags.
//
// Included inside `namespace rwkv::cpu::<isa> { namespace { ... } }`; needs kernels.h. The including file
// defines transpose_square (declared below).

constexpr int kLanes = 16;

// exp(x) for x in fp32 range, relative error about 1e-7: Cody-Waite reduction by ln 2 and a degree-7 Taylor
// polynomial on |r| <= ln2/2, scaled by 2^n built from the exponent bits. Branch-free so it vectorizes.
static inline float vexp(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  float t = x * 1.44269504088896341f;
  float n = (t + 12582912.0f) - 12582912.0f;  // round to nearest integer (|t| < 2^22)
  float r = x - n * 0.693145751953125f;
  r = r - n * 1.428606765330187045e-06f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int e = static_cast<int>(n);
  float scale = __builtin_bit_cast(float, static_cast<uint32_t>(e + 127) << 23);
  return p * scale;
}

static inline float vsigmoid(float x) { return 1.0f / (1.0f + vexp(-x)); }

// Absolute error about 1e-7 (the relative error near 0 is larger, which is harmless where it is used: its
// output is multiplied by a matrix and added to a bias).
static inline float vtanh(float x) { return 1.0f - 2.0f / (vexp(2.0f * x) + 1.0f); }

static inline float fmax0(float x) { return x > 0.0f ? x : 0.0f; }

static inline float reduce_lanes(const float* acc) {
  float s = 0.0f;
  for (int j = 0; j < kLanes; j++) s += acc[j];
  return s;
}

static inline float sum(const float* x, int n) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; j++) acc[j] += x[i + j];
  float s = reduce_lanes(acc);
  for (; i < n; i++) s += x[i];
  return s;
}

// Four independent vectors of partial sums, so the adds keep up with the loads and the loop is bound by how
// fast memory delivers x (the bench's read-bandwidth ceiling), prefetched as far ahead as the GEMM's
// one-row tiles prefetch their panels, so the ceiling is no lower than what decoding can reach.
static float stream_sum(const float* x, size_t n) {
  float acc[4 * kLanes] = {};
  size_t i = 0;
  constexpr size_t kAhead = kPrefetchBytes / sizeof(float);
  for (; i + 4 * kLanes <= n; i += 4 * kLanes) {
    for (size_t b = 0; b < 4 * kLanes * sizeof(float); b += 64)
      __builtin_prefetch(reinterpret_cast<const char*>(x + i + kAhead) + b, 0, 3);
    for (int j = 0; j < 4 * kLanes; j++) acc[j] += x[i + j];
  }
  float s = 0.0f;
  for (int j = 0; j < 4 * kLanes; j++) s += acc[j];
  for (; i < n; i++) s += x[i];
  return s;
}

static inline float sum_sq_dev(const float* x, int n, float mean) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; j++) {
      float d = x[i + j] - mean;
      acc[j] += d * d;
    }
  float s = reduce_lanes(acc);
  for (; i < n; i++) {
    float d = x[i] - mean;
    s += d * d;
  }
  return s;
}

static inline float dot3(const float* x, const float* y, const float* z, int n) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; j++) acc[j] += x[i + j] * y[i + j] * z[i + j];
  float s = reduce_lanes(acc);
  for (; i < n; i++) s += x[i] * y[i] * z[i];
  return s;
}

// (x - mean) / sqrt(var + eps) * w + b with the biased variance; two passes for accuracy.
static inline void norm_affine(const float* x, int n, const float* w, const float* b, float eps, float* out) {
  float mean = sum(x, n) / static_cast<float>(n);
  float var = sum_sq_dev(x, n, mean) / static_cast<float>(n);
  float inv = 1.0f / __builtin_sqrtf(var + eps);
  for (int i = 0; i < n; i++) out[i] = (x[i] - mean) * inv * w[i] + b[i];
}

// Depth outer so the writes are sequential; the m source rows are read as m sequential streams.
static void pack_a_rows(const float* const* rows, int m, int kc, float* dst) {
  const float* src[16];
  for (int i = 0; i < m; i++) src[i] = rows[i];
  for (int k = 0; k < kc; k++, dst += m)
    for (int i = 0; i < m; i++) dst[i] = src[i][k];
}

// dst[j][i] = src[i][j] for an n x n matrix; provided by the including file (vectorized where it can be).
static void transpose_square(const float* __restrict src, float* __restrict dst, int n);

static void transpose_square_scalar(const float* __restrict src, float* __restrict dst, int n) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) dst[static_cast<size_t>(j) * n + i] = src[static_cast<size_t>(i) * n + j];
}

static void layer_norm(const float* x, int n, const float* w, const float* b, float* out) {
  norm_affine(x, n, w, b, 1e-5f, out);
}

static void shift_mix(const ShiftMixArgs& a) {
  const int C = a.dim;
  for (int t = 0; t < a.n_tokens; t++) {
    const size_t row = static_cast<size_t>(t) * a.stride;
    float* __restrict u = a.u + row;
    norm_affine(a.x + row, C, a.ln_w, a.ln_b, 1e-5f, u);
    const float* __restrict p = t == 0 ? a.prev : a.u + row - a.stride;
    for (int q = 0; q < a.n_mix; q++) {
      const float* __restrict cf = a.coef[q];
      float* __restrict o = a.mix[q] + row;
      for (int c = 0; c < C; c++) o[c] = u[c] + (p[c] - u[c]) * cf[c];
    }
  }
}

static void tanh_inplace(float* x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = vtanh(x[i]);
}

static void sigmoid_inplace(float* x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = vsigmoid(x[i]);
}

// e^(-1/2): the decay is w = exp(-e^(-1/2) * sigmoid(z)).
constexpr float kDecayScale = 0.60653065971263342f;

struct WkvToken {
  float* w;      // decay
  float* k;      // replacement key (k modulated by a)
  float* v;      // value after the value residual
  float* alpha;  // -normalized removal key
  float* beta;   // normalized removal key * a
};

// Per-channel pieces of the preparation of one token for one head. They are separate functions with
// restrict-qualified parameters because GCC honours restrict on parameters (not on local pointers), and
// without it the loops are either not vectorized or guarded by a long chain of run-time overlap checks.
static void prep_decay(float* __restrict w, const float* __restrict w0, const float* __restrict zw, int n) {
  for (int c = 0; c < n; c++) w[c] = vexp(-kDecayScale * vsigmoid(w0[c] + zw[c]));
}

// rate = a, kk = k * k_k (not yet normalized), kmod = k * (1 + (a - 1) * k_a).
static void prep_keys(float* __restrict rate, float* __restrict kk, float* __restrict kmod, const float* __restrict a0,
                      const float* __restrict za, const float* __restrict k, const float* __restrict k_k,
                      const float* __restrict k_a, int n) {
  for (int c = 0; c < n; c++) {
    const float ac = vsigmoid(a0[c] + za[c]);
    rate[c] = ac;
    kk[c] = k[c] * k_k[c];
    kmod[c] = k[c] * (1.0f + (ac - 1.0f) * k_a[c]);
  }
}

// alpha = -kk / |kk|, beta = (kk / |kk|) * a; in place over (kk, rate).
static void prep_removal(float* __restrict kk, float* __restrict rate, int n) {
  float acc[kLanes] = {};
  int c = 0;
  for (; c + kLanes <= n; c += kLanes)
    for (int j = 0; j < kLanes; j++) acc[j] += kk[c + j] * kk[c + j];
  float ss = reduce_lanes(acc);
  for (; c < n; c++) ss += kk[c] * kk[c];
  const float norm = __builtin_sqrtf(ss);
  const float inv = 1.0f / (norm > 1e-12f ? norm : 1e-12f);
  for (int i = 0; i < n; i++) {
    const float kh = kk[i] * inv;
    kk[i] = -kh;
    rate[i] = kh * rate[i];
  }
}

static void prep_value_residual(float* __restrict v, float* __restrict out, const float* __restrict vf,
                                const float* __restrict v0, const float* __restrict zv, int n) {
  for (int i = 0; i < n; i++) {
    const float mixed = v[i] + (vf[i] - v[i]) * vsigmoid(v0[i] + zv[i]);
    v[i] = mixed;
    out[i] = mixed;
  }
}

static void prep_value_first(const float* __restrict v, float* __restrict vf, float* __restrict out, int n) {
  for (int i = 0; i < n; i++) {
    vf[i] = v[i];
    out[i] = v[i];
  }
}

// Per-channel preparation of one token for one head (spec 3.2 steps 4, 5, 7, 8, 9).
static void wkv_prepare(const WkvArgs& a, int t, const WkvToken& o) {
  const int N = a.head_size;
  const size_t row = static_cast<size_t>(t) * a.stride;
  prep_decay(o.w, a.w0, a.zw + row, N);
  prep_keys(o.beta, o.alpha, o.k, a.a0, a.za + row, a.k + row, a.k_k, a.k_a, N);
  prep_removal(o.alpha, o.beta, N);
  if (a.zv)
    prep_value_residual(a.v + row, o.v, a.v_first + row, a.v0, a.zv + row, N);
  else
    prep_value_first(a.v + row, a.v_first + row, o.v, N);
}

// One token's update of a head's transposed state st[j][i] (= S[i][j]), accumulating y = S_new r and, when
// alpha_next is given, sn = S_new alpha_next (the next token's S alpha). kN > 0 fixes the head size at compile
// time (64 in every released model), which lets the compiler keep y, sn, sa and v in vector registers for the
// whole sweep; kN == 0 takes it from n.
template <int kN>
static void wkv_sweep(float* __restrict st, float* __restrict y, float* __restrict sn, const float* __restrict sa,
                      const float* __restrict v, const float* __restrict w, const float* __restrict beta,
                      const float* __restrict k, const float* __restrict r, const float* __restrict alpha_next, int n) {
  const int N = kN > 0 ? kN : n;
  for (int i = 0; i < N; i++) {
    y[i] = 0.0f;
    sn[i] = 0.0f;
  }
  if (alpha_next) {
    for (int j = 0; j < N; j++) {
      float* __restrict s = st + static_cast<size_t>(j) * N;
      const float wj = w[j], bj = beta[j], kv = k[j], rj = r[j], an = alpha_next[j];
      for (int i = 0; i < N; i++) {
        const float ns = s[i] * wj + sa[i] * bj + v[i] * kv;
        s[i] = ns;
        y[i] += ns * rj;
        sn[i] += ns * an;
      }
    }
  } else {
    for (int j = 0; j < N; j++) {
      float* __restrict s = st + static_cast<size_t>(j) * N;
      const float wj = w[j], bj = beta[j], kv = k[j], rj = r[j];
      for (int i = 0; i < N; i++) {
        const float ns = s[i] * wj + sa[i] * bj + v[i] * kv;
        s[i] = ns;
        y[i] += ns * rj;
      }
    }
  }
}

// sa = S alpha for the first token of a run.
static void wkv_first_sa(float* __restrict sa, const float* __restrict st, const float* __restrict alpha, int N) {
  for (int i = 0; i < N; i++) sa[i] = 0.0f;
  for (int j = 0; j < N; j++) {
    const float* __restrict s = st + static_cast<size_t>(j) * N;
    const float aj = alpha[j];
    for (int i = 0; i < N; i++) sa[i] += s[i] * aj;
  }
}

// out = (GroupNorm(y) + bonus * v) * g for one head and token (spec 3.2 steps 11-12 and the gate of 13).
static void wkv_output(float* __restrict out, float* __restrict o, const float* __restrict y, const float* __restrict v,
                       const float* __restrict r, const float* __restrict k, const float* __restrict r_k,
                       const float* __restrict g, const float* __restrict ln_w, const float* __restrict ln_b, int N) {
  norm_affine(y, N, ln_w, ln_b, 64e-5f, o);
  const float bonus = dot3(r, k, r_k, N);
  for (int i = 0; i < N; i++) out[i] = (o[i] + bonus * v[i]) * g[i];
}

// The state is kept transposed while the tokens run (st[j][i] = S[i][j]) so that every step is a sequence of
// vertical multiply-adds over i with the key-indexed factors broadcast: no horizontal sums. The term S*alpha
// needed by the next token is accumulated in the same sweep that updates S for this one.
static void wkv(const WkvArgs& a) {
  const int N = a.head_size;
  float* st = a.scratch;
  float* base = a.scratch + static_cast<size_t>(N) * N;
  auto vec = [&](int idx) { return base + static_cast<size_t>(idx) * N; };
  WkvToken cur{vec(0), vec(1), vec(2), vec(3), vec(4)};
  WkvToken nxt{vec(5), vec(6), vec(7), vec(8), vec(9)};
  float* sa = vec(10);
  float* sn = vec(11);
  float* y = vec(12);
  float* o = vec(13);

  // Decoding streams hundreds of megabytes of weights between two visits to a head's state, so the state
  // comes from memory, and the transposition reads it in blocks of rows, a pattern the hardware prefetchers
  // do not follow (its loads waited on memory). Every line of it is asked for first (for writing: it is
  // stored back at the end) and the first token prepared while they arrive: the transposition's time in int8
  // decoding fell by a third, about 1% of a step net of the prefetches (perf, 0.1B shape, AVX-512).
  const char* state_bytes = reinterpret_cast<const char*>(a.state);
  for (size_t off = 0; off < static_cast<size_t>(N) * N * sizeof(float); off += 64)
    __builtin_prefetch(state_bytes + off, 1, 3);
  wkv_prepare(a, 0, cur);
  transpose_square(a.state, st, N);
  wkv_first_sa(sa, st, cur.alpha, N);
  for (int t = 0; t < a.n_tokens; t++) {
    const size_t row = static_cast<size_t>(t) * a.stride;
    const bool has_next = t + 1 < a.n_tokens;
    if (has_next) wkv_prepare(a, t + 1, nxt);
    const float* alpha_next = has_next ? nxt.alpha : nullptr;
    if (N == 64)
      wkv_sweep<64>(st, y, sn, sa, cur.v, cur.w, cur.beta, cur.k, a.r + row, alpha_next, N);
    else
      wkv_sweep<0>(st, y, sn, sa, cur.v, cur.w, cur.beta, cur.k, a.r + row, alpha_next, N);
    wkv_output(a.out + row, o, y, cur.v, a.r + row, cur.k, a.r_k, a.g + row, a.ln_w, a.ln_b, N);

    WkvToken tmp = cur;
    cur = nxt;
    nxt = tmp;
    float* ts = sa;
    sa = sn;
    sn = ts;
  }

  transpose_square(st, a.state, N);
}
