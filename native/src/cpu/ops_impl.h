// Element-wise kernels and the WKV recurrence, written as plain loops that the compiler vectorizes. This file
// is included once by each kernels_<isa>.cc, inside a namespace of its own, so each instruction set gets its
// own vectorization of the same source. Everything here has internal linkage (see float16.h for why), and
// reductions keep 16 partial sums so they vectorize without reassociation flags.
//
// Included inside `namespace rwkv::cpu::<isa> { namespace { ... } }`; needs kernels.h.

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

// Per-channel preparation of one token for one head (spec 3.2 steps 4, 5, 7, 8, 9).
static void wkv_prepare(const WkvArgs& a, int t, const WkvToken& o) {
  const int N = a.head_size;
  const size_t row = static_cast<size_t>(t) * a.stride;
  const float* __restrict zw = a.zw + row;
  const float* __restrict za = a.za + row;
  const float* __restrict k = a.k + row;
  float* __restrict kk = o.alpha;  // holds k * k_k until normalized
  float* __restrict rate = o.beta;  // holds a until multiplied by the normalized key
  for (int c = 0; c < N; c++) {
    o.w[c] = vexp(-kDecayScale * vsigmoid(a.w0[c] + zw[c]));
    float ac = vsigmoid(a.a0[c] + za[c]);
    rate[c] = ac;
    kk[c] = k[c] * a.k_k[c];
    o.k[c] = k[c] * (1.0f + (ac - 1.0f) * a.k_a[c]);
  }
  float acc[kLanes] = {};
  int c = 0;
  for (; c + kLanes <= N; c += kLanes)
    for (int j = 0; j < kLanes; j++) acc[j] += kk[c + j] * kk[c + j];
  float ss = reduce_lanes(acc);
  for (; c < N; c++) ss += kk[c] * kk[c];
  float norm = __builtin_sqrtf(ss);
  float inv = 1.0f / (norm > 1e-12f ? norm : 1e-12f);
  for (int i = 0; i < N; i++) {
    float kh = kk[i] * inv;
    o.alpha[i] = -kh;
    o.beta[i] = kh * rate[i];
  }
  float* __restrict v = a.v + row;
  float* __restrict vf = a.v_first + row;
  if (a.zv) {
    const float* __restrict zv = a.zv + row;
    for (int i = 0; i < N; i++) {
      float mixed = v[i] + (vf[i] - v[i]) * vsigmoid(a.v0[i] + zv[i]);
      v[i] = mixed;
      o.v[i] = mixed;
    }
  } else {
    for (int i = 0; i < N; i++) {
      vf[i] = v[i];
      o.v[i] = v[i];
    }
  }
}

// The state is kept transposed while the tokens run (st[j][i] = S[i][j]) so that every step is a sequence of
// vertical multiply-adds over i with the key-indexed factors broadcast: no horizontal sums. The term S*alpha
// needed by the next token is accumulated in the same sweep that updates S for this one.
static void wkv(const WkvArgs& a) {
  const int N = a.head_size;
  float* __restrict st = a.scratch;
  float* base = a.scratch + static_cast<size_t>(N) * N;
  auto vec = [&](int idx) { return base + static_cast<size_t>(idx) * N; };
  WkvToken cur{vec(0), vec(1), vec(2), vec(3), vec(4)};
  WkvToken nxt{vec(5), vec(6), vec(7), vec(8), vec(9)};
  float* sa = vec(10);
  float* sn = vec(11);
  float* y = vec(12);
  float* o = vec(13);

  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) st[static_cast<size_t>(j) * N + i] = a.state[static_cast<size_t>(i) * N + j];

  wkv_prepare(a, 0, cur);
  for (int i = 0; i < N; i++) sa[i] = 0.0f;
  for (int j = 0; j < N; j++) {
    const float* __restrict s = st + static_cast<size_t>(j) * N;
    float aj = cur.alpha[j];
    for (int i = 0; i < N; i++) sa[i] += s[i] * aj;
  }

  for (int t = 0; t < a.n_tokens; t++) {
    const size_t row = static_cast<size_t>(t) * a.stride;
    const float* __restrict r = a.r + row;
    const bool has_next = t + 1 < a.n_tokens;
    if (has_next) wkv_prepare(a, t + 1, nxt);
    for (int i = 0; i < N; i++) {
      y[i] = 0.0f;
      sn[i] = 0.0f;
    }
    const float* __restrict w = cur.w;
    const float* __restrict kj = cur.k;
    const float* __restrict vv = cur.v;
    const float* __restrict beta = cur.beta;
    const float* __restrict san = sa;
    float* __restrict yy = y;
    float* __restrict snn = sn;
    if (has_next) {
      const float* __restrict alpha_next = nxt.alpha;
      for (int j = 0; j < N; j++) {
        float* __restrict s = st + static_cast<size_t>(j) * N;
        const float wj = w[j], bj = beta[j], kv = kj[j], rj = r[j], an = alpha_next[j];
        for (int i = 0; i < N; i++) {
          float ns = s[i] * wj + san[i] * bj + vv[i] * kv;
          s[i] = ns;
          yy[i] += ns * rj;
          snn[i] += ns * an;
        }
      }
    } else {
      for (int j = 0; j < N; j++) {
        float* __restrict s = st + static_cast<size_t>(j) * N;
        const float wj = w[j], bj = beta[j], kv = kj[j], rj = r[j];
        for (int i = 0; i < N; i++) {
          float ns = s[i] * wj + san[i] * bj + vv[i] * kv;
          s[i] = ns;
          yy[i] += ns * rj;
        }
      }
    }
    // GroupNorm of this head (eps 64e-5), then the bonus sum_j r_j k_j r_k[j] times the mixed value, then gate.
    norm_affine(y, N, a.ln_w, a.ln_b, 64e-5f, o);
    const float bonus = dot3(r, cur.k, a.r_k, N);
    const float* __restrict g = a.g + row;
    float* __restrict out = a.out + row;
    for (int i = 0; i < N; i++) out[i] = (o[i] + bonus * vv[i]) * g[i];

    WkvToken tmp = cur;
    cur = nxt;
    nxt = tmp;
    float* ts = sa;
    sa = sn;
    sn = ts;
  }

  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) a.state[static_cast<size_t>(i) * N + j] = st[static_cast<size_t>(j) * N + i];
}
