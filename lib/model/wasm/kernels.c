/*
 * The inference kernels in WebAssembly SIMD, for prediction: the BiLSTM sweep (one call runs one
 * direction of one layer over every time step of a batch), a dense layer (the tagger's output
 * layer) and the CRF's per-token marginals. Built by build.sh into _binary.ts (embedded base64);
 * loaded by module.ts; driven by lib/model/bilstm/wasm_sweep.ts and lib/model/crf/wasm_marginals.ts,
 * which own the memory layout.
 *
 * The sweep, per step: G = h·W (a register-tiled GEMM over W packed in panels of 8 gate columns),
 * then per row and unit: pre = G + zx[t]; i, f, o = sigmoid(pre); g = tanh(scale·pre) of the
 * candidate block; c = f·c + i·g; h = o·tanh(c); y[b, t] = h. A row whose mask is 0 at this step
 * keeps its h and c and writes its previous h, as the JavaScript kernels do. sigmoid(x) is
 * 0.5 + 0.5·tanh(x/2), and tanh is Eigen's float rational function (max abs error 2.6e-7), as
 * lib/model/bilstm/_lstm_cell.ts's tanhRational.
 */
#include <wasm_simd128.h>

#define TANH_CLAMP 7.90531110763549805f

/* a·b + c: fused (one rounding) where the machine has FMA, as relaxed SIMD allows. */
#define MADD(a, b, c) wasm_f32x4_relaxed_madd((a), (b), (c))

static inline v128_t tanh4(v128_t x) {
  x = wasm_f32x4_pmin(wasm_f32x4_splat(TANH_CLAMP), x);
  x = wasm_f32x4_pmax(wasm_f32x4_splat(-TANH_CLAMP), x);
  v128_t x2 = wasm_f32x4_mul(x, x);
  v128_t p = wasm_f32x4_splat(-2.76076847742355e-16f);
  p = MADD(p, x2, wasm_f32x4_splat(2.00018790482477e-13f));
  p = MADD(p, x2, wasm_f32x4_splat(-8.60467152213735e-11f));
  p = MADD(p, x2, wasm_f32x4_splat(5.12229709037114e-08f));
  p = MADD(p, x2, wasm_f32x4_splat(1.48572235717979e-05f));
  p = MADD(p, x2, wasm_f32x4_splat(6.37261928875436e-04f));
  p = MADD(p, x2, wasm_f32x4_splat(4.89352455891786e-03f));
  p = wasm_f32x4_mul(p, x);
  v128_t q = wasm_f32x4_splat(1.19825839466702e-06f);
  q = MADD(q, x2, wasm_f32x4_splat(1.18534705686654e-04f));
  q = MADD(q, x2, wasm_f32x4_splat(2.26843463243900e-03f));
  q = MADD(q, x2, wasm_f32x4_splat(4.89352518554385e-03f));
  return wasm_f32x4_div(p, q);
}

static inline float tanh1(float x) {
  if (x > TANH_CLAMP) x = TANH_CLAMP;
  else if (x < -TANH_CLAMP) x = -TANH_CLAMP;
  float x2 = x * x;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  p = p * x;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return p / q;
}

static inline v128_t sigmoid4(v128_t x) {
  v128_t half = wasm_f32x4_splat(0.5f);
  return MADD(half, tanh4(wasm_f32x4_mul(half, x)), half);
}

static inline float sigmoid1(float x) { return 0.5f + 0.5f * tanh1(0.5f * x); }

/** Panels of 8 columns of a matrix `width` wide: ceil(width / 8). */
static inline int panel_count(int width) { return (width + 7) / 8; }

/**
 * Packs a `[depth, width]` row-major matrix into panels `[panel][k][8]` (the last panel
 * zero-padded), `panel_count(width) · depth · 8` floats.
 */
__attribute__((export_name("pack_panels")))
void pack_panels(int depth, int width, const float* w, float* packed) {
  const int panels = panel_count(width);
  for (int p = 0; p < panels; p++) {
    for (int k = 0; k < depth; k++) {
      float* out = packed + ((long)p * depth + k) * 8;
      for (int j = 0; j < 8; j++) {
        const int column = p * 8 + j;
        out[j] = column < width ? w[(long)k * width + column] : 0.0f;
      }
    }
  }
}

/**
 * G[rows, panels·8] = h[rows, depth] · W (packed in `panels` panels), 4 rows at a time, then the
 * remaining rows.
 */
static void gemm(int rows, int depth, int panels, const float* h, const float* packed, float* g) {
  const int stride = panels * 8;
  int r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* h0 = h + (long)r * depth;
    const float* h1 = h0 + depth;
    const float* h2 = h1 + depth;
    const float* h3 = h2 + depth;
    for (int p = 0; p < panels; p++) {
      const float* w = packed + (long)p * depth * 8;
      v128_t a00 = wasm_f32x4_splat(0), a01 = a00, a10 = a00, a11 = a00;
      v128_t a20 = a00, a21 = a00, a30 = a00, a31 = a00;
      for (int k = 0; k < depth; k++) {
        const v128_t w0 = wasm_v128_load(w + k * 8);
        const v128_t w1 = wasm_v128_load(w + k * 8 + 4);
        v128_t s = wasm_v128_load32_splat(h0 + k);
        a00 = MADD(s, w0, a00);
        a01 = MADD(s, w1, a01);
        s = wasm_v128_load32_splat(h1 + k);
        a10 = MADD(s, w0, a10);
        a11 = MADD(s, w1, a11);
        s = wasm_v128_load32_splat(h2 + k);
        a20 = MADD(s, w0, a20);
        a21 = MADD(s, w1, a21);
        s = wasm_v128_load32_splat(h3 + k);
        a30 = MADD(s, w0, a30);
        a31 = MADD(s, w1, a31);
      }
      float* out = g + (long)r * stride + p * 8;
      wasm_v128_store(out, a00);
      wasm_v128_store(out + 4, a01);
      wasm_v128_store(out + stride, a10);
      wasm_v128_store(out + stride + 4, a11);
      wasm_v128_store(out + 2 * stride, a20);
      wasm_v128_store(out + 2 * stride + 4, a21);
      wasm_v128_store(out + 3 * stride, a30);
      wasm_v128_store(out + 3 * stride + 4, a31);
    }
  }
  for (; r < rows; r++) {
    const float* h0 = h + (long)r * depth;
    for (int p = 0; p < panels; p++) {
      const float* w = packed + (long)p * depth * 8;
      v128_t a0 = wasm_f32x4_splat(0), a1 = a0;
      for (int k = 0; k < depth; k++) {
        const v128_t s = wasm_v128_load32_splat(h0 + k);
        a0 = MADD(s, wasm_v128_load(w + k * 8), a0);
        a1 = MADD(s, wasm_v128_load(w + k * 8 + 4), a1);
      }
      float* out = g + (long)r * stride + p * 8;
      wasm_v128_store(out, a0);
      wasm_v128_store(out + 4, a1);
    }
  }
}

/** One row's cell update from its gate pre-activations: writes h, c and y's row. */
static void cell_row(int units, const float* g, const float* zx, float candidate_scale,
                     float* h, float* c, float* y) {
  const float* gi = g;
  const float* gf = g + units;
  const float* gg = g + 2 * units;
  const float* go = g + 3 * units;
  const float* zi = zx;
  const float* zf = zx + units;
  const float* zg = zx + 2 * units;
  const float* zo = zx + 3 * units;
  const v128_t scale = wasm_f32x4_splat(candidate_scale);
  int u = 0;
  for (; u + 4 <= units; u += 4) {
    const v128_t i = sigmoid4(wasm_f32x4_add(wasm_v128_load(gi + u), wasm_v128_load(zi + u)));
    const v128_t f = sigmoid4(wasm_f32x4_add(wasm_v128_load(gf + u), wasm_v128_load(zf + u)));
    const v128_t pre_g = wasm_f32x4_add(wasm_v128_load(gg + u), wasm_v128_load(zg + u));
    const v128_t cand = tanh4(wasm_f32x4_mul(scale, pre_g));
    const v128_t o = sigmoid4(wasm_f32x4_add(wasm_v128_load(go + u), wasm_v128_load(zo + u)));
    const v128_t cell = wasm_f32x4_add(wasm_f32x4_mul(f, wasm_v128_load(c + u)),
                                       wasm_f32x4_mul(i, cand));
    const v128_t out = wasm_f32x4_mul(o, tanh4(cell));
    wasm_v128_store(c + u, cell);
    wasm_v128_store(h + u, out);
    wasm_v128_store(y + u, out);
  }
  for (; u < units; u++) {
    const float i = sigmoid1(gi[u] + zi[u]);
    const float f = sigmoid1(gf[u] + zf[u]);
    const float cand = tanh1(candidate_scale * (gg[u] + zg[u]));
    const float o = sigmoid1(go[u] + zo[u]);
    const float cell = f * c[u] + i * cand;
    const float out = o * tanh1(cell);
    c[u] = cell;
    h[u] = out;
    y[u] = out;
  }
}

/**
 * One direction of one BiLSTM layer over all `time` steps of `batch` rows, from zero state.
 *
 * @param zx input projections `x·W + b`, time-major `[time][batch][4U]`
 * @param packed the recurrent kernel `[U, 4U]` as pack_panels leaves it
 * @param mask `[time][batch]` (non-zero = real token), or 0 for none
 * @param reverse 1 for the backward direction (steps from last to first)
 * @param candidate_scale the candidate gate is tanh(scale · pre-activation): 1, or 0.5 when the
 *   candidate block of zx and the kernel were doubled
 * @param h, c `[batch][U]` scratch state (zeroed here)
 * @param g `[batch][panels·8]` scratch gate pre-activations
 * @param y the layer output `[batch][time][2U]`; this direction writes columns
 *   `y_offset..y_offset+U`
 */
__attribute__((export_name("lstm_direction")))
void lstm_direction(int batch, int time, int units, const float* zx, const float* packed,
                    const float* mask, int reverse, float candidate_scale, float* h, float* c,
                    float* g, float* y, int y_offset) {
  const int panels = panel_count(4 * units);
  const int stride = panels * 8;
  const int width = 4 * units;
  for (long n = 0; n < (long)batch * units; n++) {
    h[n] = 0.0f;
    c[n] = 0.0f;
  }
  for (long n = 0; n < (long)batch * stride; n++) g[n] = 0.0f;
  for (int k = 0; k < time; k++) {
    const int t = reverse ? time - 1 - k : k;
    // Rows past the last real token of this step are all masked: their gates are never read.
    // (Prediction sorts a batch's rows by length, so padding costs no GEMM.)
    int active = batch;
    if (mask != 0) {
      while (active > 0 && mask[(long)t * batch + active - 1] == 0.0f) active--;
    }
    if (k > 0) gemm(active, units, panels, h, packed, g);
    const float* zx_t = zx + (long)t * batch * width;
    for (int b = 0; b < batch; b++) {
      float* y_row = y + ((long)b * time + t) * 2 * units + y_offset;
      float* h_row = h + (long)b * units;
      if (mask != 0 && mask[(long)t * batch + b] == 0.0f) {
        for (int u = 0; u < units; u++) y_row[u] = h_row[u];
        continue;
      }
      cell_row(units, g + (long)b * stride, zx_t + (long)b * width, candidate_scale, h_row,
               c + (long)b * units, y_row);
    }
  }
}

/**
 * A dense layer: out[rows, width] = x[rows, depth] · W + bias, W packed by pack_panels; `g` is
 * `[rows, panel_count(width)·8]` scratch.
 */
__attribute__((export_name("dense")))
void dense(int rows, int depth, int width, const float* x, const float* packed, const float* bias,
           float* g, float* out) {
  const int panels = panel_count(width);
  const int stride = panels * 8;
  gemm(rows, depth, panels, x, packed, g);
  for (long r = 0; r < rows; r++) {
    for (int j = 0; j < width; j++) out[r * width + j] = g[r * stride + j] + bias[j];
  }
}

/* ---- CRF marginals (forward–backward), for the CRF decoder of prediction ---- */

/** exp(x) for x ≤ 0 (Cephes' polynomial on a range-reduced argument), 0 below -87. */
static inline v128_t exp4(v128_t x) {
  const v128_t floor_x = wasm_f32x4_splat(-87.0f);
  const v128_t zero_mask = wasm_f32x4_lt(x, floor_x);
  x = wasm_f32x4_pmax(floor_x, wasm_f32x4_pmin(wasm_f32x4_splat(0.0f), x));
  const v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = MADD(n, wasm_f32x4_splat(-0.693359375f), x);
  r = MADD(n, wasm_f32x4_splat(2.12194440e-4f), r);
  v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
  p = MADD(p, r, wasm_f32x4_splat(1.3981999507e-3f));
  p = MADD(p, r, wasm_f32x4_splat(8.3334519073e-3f));
  p = MADD(p, r, wasm_f32x4_splat(4.1665795894e-2f));
  p = MADD(p, r, wasm_f32x4_splat(1.6666665459e-1f));
  p = MADD(p, r, wasm_f32x4_splat(5.0000001201e-1f));
  p = MADD(wasm_f32x4_mul(p, r), r, wasm_f32x4_add(r, wasm_f32x4_splat(1.0f)));
  const v128_t scale = wasm_i32x4_shl(
      wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_v128_andnot(wasm_f32x4_mul(p, scale), zero_mask);
}

/** Divides `count` floats (a multiple of 4) by their sum. */
static inline void normalise(float* v, int count) {
  v128_t total = wasm_f32x4_splat(0.0f);
  for (int j = 0; j < count; j += 4) total = wasm_f32x4_add(total, wasm_v128_load(v + j));
  const float sum = wasm_f32x4_extract_lane(total, 0) + wasm_f32x4_extract_lane(total, 1) +
                    wasm_f32x4_extract_lane(total, 2) + wasm_f32x4_extract_lane(total, 3);
  const v128_t inverse = wasm_f32x4_splat(1.0f / sum);
  for (int j = 0; j < count; j += 4) wasm_v128_store(v + j, wasm_f32x4_mul(wasm_v128_load(v + j), inverse));
}

/** out[0..kp) = Σ_i v[i] · m[i, 0..kp) (m row-major, rows kp floats apart, k rows). */
static inline void vector_matrix(int k, int kp, const float* v, const float* m, float* out) {
  for (int j = 0; j < kp; j += 4) wasm_v128_store(out + j, wasm_f32x4_splat(0.0f));
  for (int i = 0; i < k; i++) {
    const v128_t vi = wasm_f32x4_splat(v[i]);
    for (int j = 0; j < kp; j += 4) {
      wasm_v128_store(out + j, MADD(vi, wasm_v128_load(m + (long)i * kp + j), wasm_v128_load(out + j)));
    }
  }
}

/**
 * Per-token marginals P(y_t = j) of one CRF sequence, in float32 with each step's forward and
 * backward vectors renormalised (as lib/model/crf/_forward_backward.ts does in float64).
 *
 * @param length tokens (≥ 1); k tags; kp = k rounded up to 4
 * @param emissions `[length, k]`
 * @param pad the padding tag (its emission gets `penalty`), or -1
 * @param exp_trans `[k, kp]`: exp(transitions − their max), zero-padded columns
 * @param exp_trans_t the same transposed (`[k, kp]`: row j holds column j)
 * @param exp_start, exp_end `[kp]`: exp(start − max), exp(end − max), zero-padded
 * @param scratch `4 · length · kp` floats
 * @param out `[length, k]` marginals
 */
__attribute__((export_name("crf_marginals")))
void crf_marginals(int length, int k, const float* emissions, int pad, float penalty,
                   const float* exp_trans, const float* exp_trans_t, const float* exp_start,
                   const float* exp_end, float* scratch, float* out) {
  const int kp = (k + 3) & ~3;
  float* exp_emit = scratch;
  float* alpha = exp_emit + (long)length * kp;
  float* beta = alpha + (long)length * kp;
  float* weighted = beta + (long)length * kp;
  for (int t = 0; t < length; t++) {
    float* row = exp_emit + (long)t * kp;
    float max = -3.4e38f;
    for (int j = 0; j < k; j++) {
      row[j] = emissions[(long)t * k + j] + (j == pad ? penalty : 0.0f);
      if (row[j] > max) max = row[j];
    }
    for (int j = k; j < kp; j++) row[j] = -1e30f;
    const v128_t shift = wasm_f32x4_splat(max);
    for (int j = 0; j < kp; j += 4) {
      wasm_v128_store(row + j, exp4(wasm_f32x4_sub(wasm_v128_load(row + j), shift)));
    }
  }
  for (int j = 0; j < kp; j += 4) {
    wasm_v128_store(alpha + j, wasm_f32x4_mul(wasm_v128_load(exp_start + j), wasm_v128_load(exp_emit + j)));
  }
  normalise(alpha, kp);
  for (int t = 1; t < length; t++) {
    float* a = alpha + (long)t * kp;
    vector_matrix(k, kp, alpha + (long)(t - 1) * kp, exp_trans, a);
    const float* e = exp_emit + (long)t * kp;
    for (int j = 0; j < kp; j += 4) wasm_v128_store(a + j, wasm_f32x4_mul(wasm_v128_load(a + j), wasm_v128_load(e + j)));
    normalise(a, kp);
  }
  float* last = beta + (long)(length - 1) * kp;
  for (int j = 0; j < kp; j += 4) wasm_v128_store(last + j, wasm_v128_load(exp_end + j));
  for (int t = length - 2; t >= 0; t--) {
    const float* next = beta + (long)(t + 1) * kp;
    const float* e = exp_emit + (long)(t + 1) * kp;
    for (int j = 0; j < kp; j += 4) {
      wasm_v128_store(weighted + j, wasm_f32x4_mul(wasm_v128_load(e + j), wasm_v128_load(next + j)));
    }
    float* b = beta + (long)t * kp;
    vector_matrix(k, kp, weighted, exp_trans_t, b);
    normalise(b, kp);
  }
  for (int t = 0; t < length; t++) {
    float* a = alpha + (long)t * kp;
    const float* b = beta + (long)t * kp;
    for (int j = 0; j < kp; j += 4) wasm_v128_store(a + j, wasm_f32x4_mul(wasm_v128_load(a + j), wasm_v128_load(b + j)));
    normalise(a, kp);
    for (int j = 0; j < k; j++) out[(long)t * k + j] = a[j];
  }
}
