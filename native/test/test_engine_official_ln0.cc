// official_bf16_ln0 against torch's own CPU bf16 LayerNorm on random rows (native/test/fixtures/bf16-layer-norm,
// written by its make_cases.py): every output bit equal, for widths that exercise every part of the kernel
// (a scalar tail, one chunk, several chunks merged pairwise); and the result differs from an exact LayerNorm
// rounded to bf16, which is why the engine needs it.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "check.h"
#include "cpu/float16.h"
#include "cpu/official_ln0.h"

namespace {

using rwkv::cpu::bf16_to_f32;
using rwkv::cpu::f32_to_bf16;

struct Case {
  int C = 0, rows = 0;
  std::vector<float> x, w, b, y;
};

std::vector<Case> load_cases() {
  const std::vector<char> bytes = check::read_file(check::fixture_path("bf16-layer-norm/cases.bin"));
  std::vector<Case> cases;
  size_t at = 0;
  auto take = [&](size_t n) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; i++) {
      uint16_t h;
      std::memcpy(&h, bytes.data() + at + 2 * i, 2);
      v[i] = bf16_to_f32(h);
    }
    at += 2 * n;
    return v;
  };
  while (at + 8 <= bytes.size()) {
    Case c;
    uint32_t head[2];
    std::memcpy(head, bytes.data() + at, 8);
    at += 8;
    c.C = static_cast<int>(head[0]);
    c.rows = static_cast<int>(head[1]);
    const size_t n = static_cast<size_t>(c.C) * c.rows;
    c.x = take(n);
    c.w = take(static_cast<size_t>(c.C));
    c.b = take(static_cast<size_t>(c.C));
    c.y = take(n);
    cases.push_back(std::move(c));
  }
  CHECK(at == bytes.size());
  return cases;
}

}  // namespace

TEST(matches_torch_bit_for_bit_and_differs_from_exact_rounding) {
  const std::vector<Case> cases = load_cases();
  CHECK(cases.size() == 5);
  for (const Case& c : cases) {
    size_t mismatches = 0, exact_mismatches = 0;
    std::vector<float> out(static_cast<size_t>(c.C));
    for (int r = 0; r < c.rows; r++) {
      const float* x = c.x.data() + static_cast<size_t>(r) * c.C;
      const float* want = c.y.data() + static_cast<size_t>(r) * c.C;
      rwkv::cpu::official_bf16_ln0(x, c.C, c.w.data(), c.b.data(), out.data());
      for (int i = 0; i < c.C; i++) mismatches += out[i] != want[i];
      // An exact LayerNorm (double), rounded to bf16 once.
      double mean = 0, var = 0;
      for (int i = 0; i < c.C; i++) mean += x[i];
      mean /= c.C;
      for (int i = 0; i < c.C; i++) var += (x[i] - mean) * (x[i] - mean);
      const double rstd = 1.0 / std::sqrt(var / c.C + 1e-5);
      for (int i = 0; i < c.C; i++) {
        const float exact = bf16_to_f32(f32_to_bf16(static_cast<float>((x[i] - mean) * rstd * c.w[i] + c.b[i])));
        exact_mismatches += exact != want[i];
      }
    }
    std::printf("  C=%d: %zu of %d values differ from torch (exact-then-round: %zu)\n", c.C, mismatches, c.C * c.rows,
                exact_mismatches);
    CHECK_MSG(mismatches == 0, "C=%d: %zu values differ from torch", c.C, mismatches);
    CHECK_MSG(exact_mismatches > 0, "C=%d: exact LayerNorm then rounding gives torch's values too", c.C);
  }
}

TEST(works_in_place) {
  const Case c = load_cases().front();
  std::vector<float> row(c.x.begin(), c.x.begin() + c.C), out(static_cast<size_t>(c.C));
  rwkv::cpu::official_bf16_ln0(row.data(), c.C, c.w.data(), c.b.data(), out.data());
  rwkv::cpu::official_bf16_ln0(row.data(), c.C, c.w.data(), c.b.data(), row.data());
  CHECK(row == out);
}

TEST_MAIN()
