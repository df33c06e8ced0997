// One forward pass over a round's stacked rows: the embedding, then per layer the time mix (pre-norm with
// token shift, projections, low-rank branches, recurrence, GroupNorm/bonus/gate, output projection) and the
// channel mix (pre-norm with token shift, relu^2 FFN), all enqueued on the model's stream. Prefill rounds use
// cuBLAS GEMMs and the sequence-mode kernels; decode steps (one token per sequence) use the fused recurrence
// kernel and, for up to kGemvMaxRows rows, the GEMV kernels, which keeps a step at 7 launches per layer.
#include "cuda/cuda_check.h"
#include "cuda/cuda_model.h"

namespace rwkv::cuda {

void CudaModelImpl::body(const RowLayout& rl, bool decode) {
  const int C = cfg_.n_embd, F = cfg_.ffn, H = cfg_.n_head, rows = rl.rows;
  const bool small = decode && rows <= kGemvMaxRows && gemv_ok_;
  const size_t R = max_rows_, plane = R * C;
  const size_t layer_floats = 2 * static_cast<size_t>(C) + static_cast<size_t>(H) * kHeadSize * kHeadSize;
  char* xin = xin_.as<char>();
  auto xplane = [&](int p) { return xin + p * plane * es_; };
  float* x = x_.as<float>();
  float* r = rkv_.as<float>();
  float* k = r + plane;
  float* v = r + 2 * plane;
  float* zw = z_.as<float>();
  float* za = zw + plane;
  float* zv = zw + 2 * plane;
  float* zg = zw + 3 * plane;
  float* lf = lora_f_.as<float>();
  char* lh = lora_h_.as<char>();
  auto problem = [](const void* W, int N, int K, const void* X, int ldx, void* Y, int ldy, Epilogue e) {
    GemvProblem p;
    p.W = W;
    p.N = N;
    p.K = K;
    p.X = X;
    p.ldx = ldx;
    p.Y = Y;
    p.ldy = ldy;
    p.epi = e;
    return p;
  };

  launch_embed(type_, rl, w_.emb, w_.ln0_w, w_.ln0_b, x, C, stream_);
  for (int l = 0; l < cfg_.n_layer; l++) {
    const LayerWeights& L = w_.layers[l];
    const size_t base = l * layer_floats;
    const int ds = L.dsum();
    const int off_a = L.dw, off_v = L.dw + L.da, off_g = L.dw + L.da + L.dv;
    launch_ln_shift(type_, rl, x, L.ln1_w, L.ln1_b, L.mix, 6, base, xin, plane, C, stream_);
    if (small) {
      // R, K, V and the four low-rank "down" projections read the same kind of input: one launch.
      GemvBatch down;
      const size_t cc = static_cast<size_t>(C) * C * es_;
      down.add(problem(L.rkv, C, C, xplane(kPlaneR), C, r, C, Epilogue::kStoreF32));
      down.add(problem(static_cast<const char*>(L.rkv) + cc, C, C, xplane(kPlaneK), C, k, C, Epilogue::kStoreF32));
      down.add(problem(static_cast<const char*>(L.rkv) + 2 * cc, C, C, xplane(kPlaneV), C, v, C, Epilogue::kStoreF32));
      down.add(problem(L.w1, L.dw, C, xplane(kPlaneW), C, lh, ds, Epilogue::kTanh));
      down.add(problem(L.a1, L.da, C, xplane(kPlaneA), C, lh + off_a * es_, ds, Epilogue::kStore));
      if (L.dv) down.add(problem(L.v1, L.dv, C, xplane(kPlaneV), C, lh + off_v * es_, ds, Epilogue::kStore));
      down.add(problem(L.g1, L.dg, C, xplane(kPlaneG), C, lh + off_g * es_, ds, Epilogue::kSigmoid));
      launch_gemv(type_, rows, down, stream_);
      if (ds > kDecodeMaxHidden) {
        GemvBatch up;
        up.add(problem(L.w2, C, L.dw, lh, ds, zw, C, Epilogue::kStoreF32));
        up.add(problem(L.a2, C, L.da, lh + off_a * es_, ds, za, C, Epilogue::kStoreF32));
        if (L.dv) up.add(problem(L.v2, C, L.dv, lh + off_v * es_, ds, zv, C, Epilogue::kStoreF32));
        up.add(problem(L.g2, C, L.dg, lh + off_g * es_, ds, zg, C, Epilogue::kStoreF32));
        launch_gemv(type_, rows, up, stream_);
      }  // else the "up" projections run inside the fused recurrence kernel below
    } else {
      const float alpha = 1.f, beta = 0.f;
      check_cublas(blas_api_->gemm_strided_batched_ex(
                       blas_, kCublasOpT, kCublasOpN, C, rows, C, &alpha, L.rkv, dtype_, C,
                       static_cast<long long>(C) * C, xin, dtype_, C, static_cast<long long>(plane), &beta, r,
                       CUDA_R_32F, C, static_cast<long long>(plane), 3, kCublasCompute32F, kCublasGemmDefault),
                   "R/K/V GEMM");
      gemm(L.w1, L.dw, C, xplane(kPlaneW), C, rows, lf, true, ds, 0.f, "decay low-rank GEMM (down)");
      gemm(L.a1, L.da, C, xplane(kPlaneA), C, rows, lf + off_a, true, ds, 0.f, "a low-rank GEMM (down)");
      if (L.dv) gemm(L.v1, L.dv, C, xplane(kPlaneV), C, rows, lf + off_v, true, ds, 0.f, "v low-rank GEMM (down)");
      gemm(L.g1, L.dg, C, xplane(kPlaneG), C, rows, lf + off_g, true, ds, 0.f, "gate low-rank GEMM (down)");
      launch_lora_act(type_, lf, lh, rows, ds, L.dw, L.da + L.dv, stream_);
      gemm(L.w2, C, L.dw, lh, ds, rows, zw, true, C, 0.f, "decay low-rank GEMM (up)");
      gemm(L.a2, C, L.da, lh + off_a * es_, ds, rows, za, true, C, 0.f, "a low-rank GEMM (up)");
      if (L.dv) gemm(L.v2, C, L.dv, lh + off_v * es_, ds, rows, zv, true, C, 0.f, "v low-rank GEMM (up)");
      gemm(L.g2, C, L.dg, lh + off_g * es_, ds, rows, zg, true, C, 0.f, "gate low-rank GEMM (up)");
    }

    if (decode) {
      DecodeArgs da;
      da.r = r;
      da.k = k;
      da.v = v;
      da.zw = zw;
      da.za = za;
      da.zv = zv;
      da.g = zg;
      da.v_first = vfirst_.as<float>();
      da.w0 = L.w0;
      da.a0 = L.a0;
      da.v0 = L.v0;
      da.k_k = L.k_k;
      da.k_a = L.k_a;
      da.r_k = L.r_k;
      da.ln_w = L.lnx_w;
      da.ln_b = L.lnx_b;
      da.out = o_.get();
      da.wkv_off = base + C;
      da.layer0 = l == 0;
      if (small && ds <= kDecodeMaxHidden) {
        da.lora_h = lh;
        da.ldh = ds;
        da.dw = L.dw;
        da.da = L.da;
        da.dv = L.dv;
        da.dg = L.dg;
        da.w2 = L.w2;
        da.a2 = L.a2;
        da.v2 = L.v2;
        da.g2 = L.g2;
      }
      launch_wkv_decode(type_, da, rl, C, stream_);
    } else {
      PrepArgs pa;
      pa.k = k;
      pa.v = v;
      pa.zw = zw;
      pa.za = za;
      pa.zv = zv;
      pa.kk = kk_.as<float>();
      pa.v_first = vfirst_.as<float>();
      pa.w0 = L.w0;
      pa.a0 = L.a0;
      pa.v0 = L.v0;
      pa.k_k = L.k_k;
      pa.k_a = L.k_a;
      pa.layer0 = l == 0;
      launch_prep(pa, rows, C, stream_);

      WkvArgs wa;
      wa.r = r;
      wa.w = zw;
      wa.k = k;
      wa.v = v;
      wa.kk = kk_.as<float>();
      wa.b = za;
      wa.y = y_.as<float>();
      wa.wkv_off = base + C;
      launch_wkv_seq(wa, rl, C, sm_count_, stream_);

      GroupNormArgs ga;
      ga.y = y_.as<float>();
      ga.r = r;
      ga.k = k;
      ga.v = v;
      ga.g = zg;
      ga.ln_w = L.lnx_w;
      ga.ln_b = L.lnx_b;
      ga.r_k = L.r_k;
      ga.out = o_.get();
      launch_groupnorm(type_, ga, rows, C, stream_);
    }

    const size_t ffn_xprev = base + C + static_cast<size_t>(H) * kHeadSize * kHeadSize;
    if (small) {
      GemvBatch o;
      o.add(problem(L.out, C, C, o_.get(), C, x, C, Epilogue::kAddF32));
      launch_gemv(type_, rows, o, stream_);
      launch_ln_shift(type_, rl, x, L.ln2_w, L.ln2_b, L.ffn_mix, 1, ffn_xprev, xin, plane, C, stream_);
      GemvBatch fk;
      fk.add(problem(L.ffn_k, F, C, xin, C, hk_.get(), F, Epilogue::kReluSq));
      launch_gemv(type_, rows, fk, stream_);
      GemvBatch fv;
      fv.add(problem(L.ffn_v, C, F, hk_.get(), F, x, C, Epilogue::kAddF32));
      launch_gemv(type_, rows, fv, stream_);
    } else {
      gemm(L.out, C, C, o_.get(), C, rows, x, true, C, 1.f, "output GEMM");
      launch_ln_shift(type_, rl, x, L.ln2_w, L.ln2_b, L.ffn_mix, 1, ffn_xprev, xin, plane, C, stream_);
      gemm(L.ffn_k, F, C, xin, C, rows, hk_f32_.get(), true, F, 0.f, "FFN key GEMM");
      launch_relu_sq(type_, hk_f32_.as<float>(), hk_.get(), static_cast<size_t>(rows) * F, stream_);
      gemm(L.ffn_v, C, F, hk_.get(), F, rows, x, true, C, 1.f, "FFN value GEMM");
    }
  }
}

}  // namespace rwkv::cuda
