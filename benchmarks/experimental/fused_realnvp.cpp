// Experimental fused inference kernel of the restructured RealNVP (FastRealNVP): fp32, AVX-512,
// hidden width 64, up to 4 dimensions. Built and timed by fused_realnvp.py beside it; not used
// by any backend. One call runs all L couplings of a block of R sample rows in registers and
// L1: input layer + context projection, SiLU, 64x64 layer, SiLU, output layer, affine update.
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <immintrin.h>
#include <cmath>

namespace {

constexpr int H = 64;      // hidden width (4 zmm)
constexpr int Q = H / 16;  // zmm per hidden vector
#ifndef ROWS
#define ROWS 6
#endif
constexpr int R = ROWS;    // sample rows per register block
constexpr int RDP = ((R * 4 + 15) / 16) * 16;  // R x D (D <= 4) padded to whole zmm
constexpr int P = 16;      // padded 2*D (one zmm)

inline __m512 exp512(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33654f)), _mm512_set1_ps(88.37626f));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

inline __m512 silu512(__m512 v) {
#ifdef NO_SILU  // a build that skips the activations, to measure what they cost
  return v;
#endif
  // v / (1 + exp(-v)) with a Newton-refined reciprocal (rcp14 then one step: ~1 ulp)
  __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), exp512(_mm512_sub_ps(_mm512_setzero_ps(), v)));
  __m512 r = _mm512_rcp14_ps(d);
  r = _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.0f)));
  return _mm512_mul_ps(v, r);
}

// x: (rows, D) block of R rows (rows <= R), updated in place through all L couplings.
void block(float* x, int rows, int D, int L, const float* proj, const float* wxt, const float* w2t,
           const float* b2, const float* wot, const float* bo, float bound) {
  alignas(64) float h1[R][H];
  alignas(64) float h2[R][H];
  alignas(64) float o[R][P];
  alignas(64) float scale[RDP];
  alignas(64) float shift[RDP];
  alignas(64) float xs[RDP];
  for (int i = 0; i < RDP; ++i) xs[i] = 0.f;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < D; ++c) xs[r * D + c] = x[r * D + c];
  const __m512 vbound = _mm512_set1_ps(bound);
  for (int k = 0; k < L; ++k) {
    const float* pk = proj + k * H;
    const float* wx = wxt + (size_t)k * D * H;
    // input layer + context projection, SiLU
    for (int r = 0; r < R; ++r) {
      for (int q = 0; q < Q; ++q) {
        __m512 v = _mm512_loadu_ps(pk + 16 * q);
        for (int c = 0; c < D; ++c)
          v = _mm512_fmadd_ps(_mm512_set1_ps(xs[r * D + c]), _mm512_loadu_ps(wx + c * H + 16 * q), v);
        _mm512_store_ps(&h1[r][16 * q], silu512(v));
      }
    }
    // hidden layer: R x 64 register block, SiLU
    const float* w = w2t + (size_t)k * H * H;
    __m512 acc[R][Q];
    for (int q = 0; q < Q; ++q) {
      __m512 b = _mm512_loadu_ps(b2 + k * H + 16 * q);
      for (int r = 0; r < R; ++r) acc[r][q] = b;
    }
    for (int j = 0; j < H; ++j) {
      __m512 w0 = _mm512_loadu_ps(w + j * H);
      __m512 w1 = _mm512_loadu_ps(w + j * H + 16);
      __m512 w2 = _mm512_loadu_ps(w + j * H + 32);
      __m512 w3 = _mm512_loadu_ps(w + j * H + 48);
      for (int r = 0; r < R; ++r) {
        __m512 a = _mm512_set1_ps(h1[r][j]);
        acc[r][0] = _mm512_fmadd_ps(a, w0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(a, w1, acc[r][1]);
        acc[r][2] = _mm512_fmadd_ps(a, w2, acc[r][2]);
        acc[r][3] = _mm512_fmadd_ps(a, w3, acc[r][3]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int q = 0; q < Q; ++q) _mm512_store_ps(&h2[r][16 * q], silu512(acc[r][q]));
    // output layer: log-scale (pre-divided by bound) and shift, padded to 16 lanes
    const float* wo = wot + (size_t)k * H * P;
    // four partial sums per row: 4 x R independent FMA chains hide the FMA latency
    __m512 out[4][R];
    for (int m = 0; m < 4; ++m)
      for (int r = 0; r < R; ++r) out[m][r] = _mm512_setzero_ps();
    for (int j = 0; j < H; j += 4) {
      for (int m = 0; m < 4; ++m) {
        __m512 wj = _mm512_loadu_ps(wo + (j + m) * P);
        for (int r = 0; r < R; ++r) out[m][r] = _mm512_fmadd_ps(_mm512_set1_ps(h2[r][j + m]), wj, out[m][r]);
      }
    }
    __m512 bias = _mm512_loadu_ps(bo + k * P);
    for (int r = 0; r < R; ++r)
      _mm512_store_ps(o[r], _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(out[0][r], out[1][r]),
                                                        _mm512_add_ps(out[2][r], out[3][r])), bias));
    for (int i = 0; i < RDP; ++i) scale[i] = 0.f, shift[i] = 0.f;
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < D; ++c) scale[r * D + c] = o[r][c], shift[r * D + c] = o[r][D + c];
    // x = x * exp(bound * tanh(s)) + t, with tanh(s) = 1 - 2 / (exp(2 s) + 1)
    for (int i = 0; i < RDP; i += 16) {
      __m512 s = _mm512_load_ps(scale + i);
      __m512 th = _mm512_sub_ps(_mm512_set1_ps(1.0f),
                                _mm512_div_ps(_mm512_set1_ps(2.0f),
                                              _mm512_add_ps(exp512(_mm512_add_ps(s, s)), _mm512_set1_ps(1.0f))));
      __m512 xv = _mm512_fmadd_ps(_mm512_load_ps(xs + i), exp512(_mm512_mul_ps(vbound, th)), _mm512_load_ps(shift + i));
      _mm512_store_ps(xs + i, xv);
    }
  }
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < D; ++c) x[r * D + c] = xs[r * D + c];
}

}  // namespace

torch::Tensor fused_realnvp(torch::Tensor eps, torch::Tensor proj, torch::Tensor wxt, torch::Tensor w2t,
                            torch::Tensor b2, torch::Tensor wot, torch::Tensor bo, double bound) {
  TORCH_CHECK(eps.dim() == 3 && eps.scalar_type() == torch::kFloat, "eps must be (N, S, D) float32");
  const int64_t N = eps.size(0), S = eps.size(1), D = eps.size(2);
  const int L = proj.size(1);
  TORCH_CHECK(proj.size(2) == H && D <= 4, "kernel built for hidden 64 and D <= 4");
  auto out = eps.contiguous().clone();
  float* x = out.data_ptr<float>();
  const float* pj = proj.data_ptr<float>();
  const float* a = wxt.data_ptr<float>();
  const float* w = w2t.data_ptr<float>();
  const float* b = b2.data_ptr<float>();
  const float* wo = wot.data_ptr<float>();
  const float* bb = bo.data_ptr<float>();
  const float fb = (float)bound;
  at::parallel_for(0, N, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n)
      for (int64_t s0 = 0; s0 < S; s0 += R) {
        int rows = (int)std::min<int64_t>(R, S - s0);
        block(x + (n * S + s0) * D, rows, (int)D, L, pj + n * L * H, a, w, b, wo, bb, fb);
      }
  });
  return out;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("fused_realnvp", &fused_realnvp, "fused RealNVP sampling"); }
