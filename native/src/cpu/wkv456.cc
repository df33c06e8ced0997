#include "cpu/wkv456.h"

#include <algorithm>
#include <cmath>

namespace rwkv::cpu {

void wkv4(const Wkv4Args& a) {
  for (int t = 0; t < a.n_tokens; t++) {
    const size_t row = static_cast<size_t>(t) * a.stride;
    const float* r = a.r + row;
    const float* k = a.k + row;
    const float* v = a.v + row;
    float* out = a.out + row;
    for (int c = 0; c < a.n; c++) {
      const float kk = k[c], vv = v[c], aa = a.aa[c], bb = a.bb[c], pp = a.pp[c];
      const float ww = a.first[c] + kk;
      float q = std::max(pp, ww);
      float e1 = std::exp(pp - q), e2 = std::exp(ww - q);
      out[c] = r[c] * ((e1 * aa + e2 * vv) / (e1 * bb + e2));
      const float wd = a.decay[c] + pp;
      q = std::max(wd, kk);
      e1 = std::exp(wd - q);
      e2 = std::exp(kk - q);
      a.aa[c] = e1 * aa + e2 * vv;
      a.bb[c] = e1 * bb + e2;
      a.pp[c] = q;
    }
  }
}

void wkv5(const Wkv5Args& a) {
  const int N = a.head_size;
  float* __restrict y = a.scratch;
  float* __restrict w = a.scratch + N;
  for (int t = 0; t < a.n_tokens; t++) {
    const size_t row = static_cast<size_t>(t) * a.stride;
    const float* __restrict r = a.r + row;
    const float* __restrict k = a.k + row;
    const float* __restrict v = a.v + row;
    const float* __restrict decay = a.decay;
    if (!decay) {
      const float* z = a.decay_z + row;
      for (int i = 0; i < N; i++) w[i] = std::exp(-std::exp(a.decay_base[i] + z[i]));
      decay = w;
    }
    // The bonus term r·(bonus ⊙ k) vᵀ is one scalar per head times v.
    float ruk = 0.0f;
    for (int i = 0; i < N; i++) ruk += r[i] * a.bonus[i] * k[i];
    for (int j = 0; j < N; j++) y[j] = ruk * v[j];
    for (int i = 0; i < N; i++) {
      float* __restrict s = a.state + static_cast<size_t>(i) * N;
      const float ri = r[i], ki = k[i], wi = decay[i];
      for (int j = 0; j < N; j++) {
        y[j] += ri * s[j];
        s[j] = s[j] * wi + ki * v[j];
      }
    }
    // GroupNorm over the head (two passes, biased variance), affine, gate.
    float mean = 0.0f;
    for (int j = 0; j < N; j++) mean += y[j];
    mean /= static_cast<float>(N);
    float var = 0.0f;
    for (int j = 0; j < N; j++) {
      const float d = y[j] - mean;
      var += d * d;
    }
    var /= static_cast<float>(N);
    const float inv = 1.0f / std::sqrt(var + a.gn_eps);
    float* out = a.out + row;
    const float* g = a.gate ? a.gate + row : nullptr;
    for (int j = 0; j < N; j++) {
      const float o = (y[j] - mean) * inv * a.ln_w[j] + a.ln_b[j];
      out[j] = g ? o * g[j] : o;
    }
  }
}

}  // namespace rwkv::cpu
