/*
 * The project's WebAssembly SIMD kernels: the BiLSTM's sweeps over time for training and
 * inference (lstm_forward: one call runs one direction of one layer over every time step of a
 * batch; lstm_backward: its gradient), a dense layer (the tagger's output layer in prediction) and
 * the CRF's forward–backward (crf_loss: the loss and its gradient tables of a whole batch in one
 * call; crf_marginals: one sequence's per-token marginals, for prediction). Built by build.sh into
 * _binary.ts (embedded base64); loaded by module.ts; driven by lib/model/bilstm/wasm_sweep.ts and
 * lib/model/crf/wasm_forward_backward.ts, which own the memory layout.
 *
 * The forward sweep, per step: G = hd·U over the rows live at this step (a register-tiled GEMM over
 * U packed in panels of 8 gate columns; hd is h times the recurrent-dropout mask), then per live
 * row and unit: pre = G + zx[t]; i, f, o = gate(pre) (sigmoid, or hard sigmoid); g = tanh(scale ·
 * pre) of the candidate block; c = f·c + i·g; h = o·tanh(c); y[b, t] = h. A row whose mask is 0 at
 * this step keeps its h and c and writes its previous h. sigmoid(x) is 0.5 + 0.5·tanh(x/2), and
 * tanh is Eigen's float rational function (max abs error 2.6e-7). The backward sweep runs the
 * steps in reverse with the saved gates and cells; its recurrent term dz·Uᵀ is the same GEMM
 * against the transposed kernel.
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
 * Packs the transpose of a `[rows, cols]` row-major matrix (a `[cols, rows]` matrix) into panels
 * as pack_panels does: `panel_count(rows) · cols · 8` floats. The backward sweep multiplies by
 * the recurrent kernel's transpose.
 */
__attribute__((export_name("pack_panels_transposed")))
void pack_panels_transposed(int rows, int cols, const float* w, float* packed) {
  const int panels = panel_count(rows);
  for (int p = 0; p < panels; p++) {
    for (int k = 0; k < cols; k++) {
      float* out = packed + ((long)p * cols + k) * 8;
      for (int j = 0; j < 8; j++) {
        const int row = p * 8 + j;
        out[j] = row < rows ? w[(long)row * cols + k] : 0.0f;
      }
    }
  }
}

/**
 * G[rows, panels·8] = A[rows, depth] · W (packed in `panels` panels), 4 rows at a time, then the
 * remaining rows; A's rows are `lda` floats apart.
 */
static void gemm(int rows, int depth, int lda, int panels, const float* a, const float* packed,
                 float* g) {
  const int stride = panels * 8;
  int r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* h0 = a + (long)r * lda;
    const float* h1 = h0 + lda;
    const float* h2 = h1 + lda;
    const float* h3 = h2 + lda;
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
    const float* h0 = a + (long)r * lda;
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

/** A gate: sigmoid, or with `hard` tfjs's hard sigmoid clip(0.2·x + 0.5, 0, 1). */
static inline v128_t gate4(v128_t x, int hard) {
  if (!hard) return sigmoid4(x);
  const v128_t y = MADD(wasm_f32x4_splat(0.2f), x, wasm_f32x4_splat(0.5f));
  return wasm_f32x4_pmin(wasm_f32x4_splat(1.0f), wasm_f32x4_pmax(wasm_f32x4_splat(0.0f), y));
}

static inline float gate1(float x, int hard) {
  if (!hard) return sigmoid1(x);
  const float y = 0.2f * x + 0.5f;
  return y < 0.0f ? 0.0f : y > 1.0f ? 1.0f : y;
}

/** The derivative of a gate from its value a: a·(1 − a), or 0.2 inside the hard sigmoid's ramp. */
static inline v128_t gate_derivative4(v128_t a, int hard) {
  if (!hard) return wasm_f32x4_mul(a, wasm_f32x4_sub(wasm_f32x4_splat(1.0f), a));
  const v128_t ramp = wasm_v128_and(wasm_f32x4_gt(a, wasm_f32x4_splat(0.0f)),
                                    wasm_f32x4_lt(a, wasm_f32x4_splat(1.0f)));
  return wasm_v128_and(ramp, wasm_f32x4_splat(0.2f));
}

static inline float gate_derivative1(float a, int hard) {
  if (!hard) return a * (1.0f - a);
  return a > 0.0f && a < 1.0f ? 0.2f : 0.0f;
}

/**
 * One row's cell update from its gate pre-activations (g + zx): writes h, c and y's row; with
 * `drop` the dropped-out h the next step multiplies (`hd`); with `gates` and `cells` (training)
 * the gate activations i, f, g, o and the new c, for the backward sweep.
 */
static void cell_row(int units, const float* g, const float* zx, float candidate_scale, int hard,
                     const float* drop, float* h, float* c, float* hd, float* y, float* gates,
                     float* cells) {
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
    const v128_t i = gate4(wasm_f32x4_add(wasm_v128_load(gi + u), wasm_v128_load(zi + u)), hard);
    const v128_t f = gate4(wasm_f32x4_add(wasm_v128_load(gf + u), wasm_v128_load(zf + u)), hard);
    const v128_t pre_g = wasm_f32x4_add(wasm_v128_load(gg + u), wasm_v128_load(zg + u));
    const v128_t cand = tanh4(wasm_f32x4_mul(scale, pre_g));
    const v128_t o = gate4(wasm_f32x4_add(wasm_v128_load(go + u), wasm_v128_load(zo + u)), hard);
    const v128_t cell = wasm_f32x4_add(wasm_f32x4_mul(f, wasm_v128_load(c + u)),
                                       wasm_f32x4_mul(i, cand));
    const v128_t out = wasm_f32x4_mul(o, tanh4(cell));
    wasm_v128_store(c + u, cell);
    wasm_v128_store(h + u, out);
    wasm_v128_store(y + u, out);
    if (drop != 0) wasm_v128_store(hd + u, wasm_f32x4_mul(out, wasm_v128_load(drop + u)));
    if (gates != 0) {
      wasm_v128_store(gates + u, i);
      wasm_v128_store(gates + units + u, f);
      wasm_v128_store(gates + 2 * units + u, cand);
      wasm_v128_store(gates + 3 * units + u, o);
      wasm_v128_store(cells + u, cell);
    }
  }
  for (; u < units; u++) {
    const float i = gate1(gi[u] + zi[u], hard);
    const float f = gate1(gf[u] + zf[u], hard);
    const float cand = tanh1(candidate_scale * (gg[u] + zg[u]));
    const float o = gate1(go[u] + zo[u], hard);
    const float cell = f * c[u] + i * cand;
    const float out = o * tanh1(cell);
    c[u] = cell;
    h[u] = out;
    y[u] = out;
    if (drop != 0) hd[u] = out * drop[u];
    if (gates != 0) {
      gates[u] = i;
      gates[units + u] = f;
      gates[2 * units + u] = cand;
      gates[3 * units + u] = o;
      cells[u] = cell;
    }
  }
}

/**
 * The rows live at step t (mask non-zero; all without a mask) into `live`, and each row's slot
 * among them into `slot` (-1 for a masked row); returns how many. When they are the first rows
 * (prediction sorts rows by length; no padding), `*prefix` is 1: then the GEMM reads its input in
 * place, else from the live rows packed together.
 */
static int live_rows(int batch, int time, int t, const float* mask, int* live, int* slot,
                     int* prefix) {
  int count = 0;
  *prefix = 1;
  for (int b = 0; b < batch; b++) {
    if (mask == 0 || mask[(long)b * time + t] != 0.0f) {
      if (b != count) *prefix = 0;
      slot[b] = count;
      live[count++] = b;
    } else {
      slot[b] = -1;
    }
  }
  return count;
}

/**
 * GEMM over the live rows only (masked rows' products are never read): in place when they are
 * the first rows, else over a packed copy (`packed_rows`, `[count][depth]`). Row i of `g` is live
 * row i.
 */
static void live_gemm(int count, int prefix, const int* live, int depth, int lda, int panels,
                      const float* a, const float* packed, float* packed_rows, float* g) {
  if (count == 0) return;
  if (prefix) {
    gemm(count, depth, lda, panels, a, packed, g);
    return;
  }
  for (int i = 0; i < count; i++) {
    const float* from = a + (long)live[i] * lda;
    float* to = packed_rows + (long)i * depth;
    for (int k = 0; k < depth; k++) to[k] = from[k];
  }
  gemm(count, depth, depth, panels, packed_rows, packed, g);
}

/**
 * One direction of one BiLSTM layer over all `time` steps of `batch` rows, from zero state: the
 * forward pass of training and inference alike.
 *
 * @param zx input projections `x·W + b`: the `4U` floats of row b at step t start at
 *   `(t · zx_t + b · zx_b) · 4U` (time-major: zx_t = batch, zx_b = 1; batch-major: 1, time)
 * @param packed the recurrent kernel `[U, 4U]` as pack_panels leaves it
 * @param mask `[batch][time]` (non-zero = real token), or 0 for none
 * @param reverse 1 for the backward direction (steps from last to first)
 * @param candidate_scale the candidate gate is tanh(scale · pre-activation): 1, or 0.5 when the
 *   candidate block of zx and the kernel were doubled
 * @param hard 1 for hard-sigmoid gates, 0 for sigmoid
 * @param drop `[batch][U]` recurrent-dropout mask multiplying h before the recurrent product, or 0
 * @param h, c, hd `[batch][U]` scratch state (zeroed here); g `[batch][panels·8]` scratch;
 *   rows `[batch][U]` scratch; live, slot `[batch]` int scratch
 * @param y the layer output `[batch][time][2U]`; this direction writes columns
 *   `y_offset..y_offset+U`. A masked step keeps h and c and writes the previous h.
 * @param gates, cells, hd_prev for training (else 0): per row and step, batch-major, the gate
 *   activations `[batch][time][4U]` (zero at masked steps), the cell state `[batch][time][U]`,
 *   and the recurrent product's input (the previous step's dropped-out h, zero at the first
 *   step) `[batch][time][U]`
 */
__attribute__((export_name("lstm_forward")))
void lstm_forward(int batch, int time, int units, const float* zx, int zx_t, int zx_b,
                  const float* packed, const float* mask, int reverse, float candidate_scale,
                  int hard, const float* drop, float* h, float* c, float* hd, float* g, float* y,
                  int y_offset, float* gates, float* cells, float* hd_prev, float* rows_scratch,
                  int* live, int* slot) {
  const int panels = panel_count(4 * units);
  const int stride = panels * 8;
  const int width = 4 * units;
  for (long n = 0; n < (long)batch * units; n++) {
    h[n] = 0.0f;
    c[n] = 0.0f;
    hd[n] = 0.0f;
  }
  for (long n = 0; n < (long)batch * stride; n++) g[n] = 0.0f;
  const float* recurrent_input = drop != 0 ? hd : h;
  for (int k = 0; k < time; k++) {
    const int t = reverse ? time - 1 - k : k;
    // Only the rows live at this step go through the GEMM: padding costs no arithmetic.
    int prefix;
    const int count = live_rows(batch, time, t, mask, live, slot, &prefix);
    if (k > 0) {
      live_gemm(count, prefix, live, units, units, panels, recurrent_input, packed, rows_scratch,
                g);
    }
    if (hd_prev != 0) {
      for (int b = 0; b < batch; b++) {
        const float* from = recurrent_input + (long)b * units;
        float* to = hd_prev + ((long)b * time + t) * units;
        for (int u = 0; u < units; u++) to[u] = from[u];
      }
    }
    for (int b = 0; b < batch; b++) {
      const long row = (long)b * time + t;
      float* y_row = y + row * 2 * units + y_offset;
      float* h_row = h + (long)b * units;
      if (mask != 0 && mask[row] == 0.0f) {
        for (int u = 0; u < units; u++) y_row[u] = h_row[u];
        if (gates != 0) {
          for (int j = 0; j < width; j++) gates[row * width + j] = 0.0f;
          for (int u = 0; u < units; u++) cells[row * units + u] = c[(long)b * units + u];
        }
        continue;
      }
      const float* zx_row = zx + ((long)t * zx_t + (long)b * zx_b) * width;
      cell_row(units, g + (long)slot[b] * stride, zx_row, candidate_scale, hard,
               drop == 0 ? 0 : drop + (long)b * units, h_row, c + (long)b * units,
               hd + (long)b * units, y_row, gates == 0 ? 0 : gates + row * width,
               gates == 0 ? 0 : cells + row * units);
    }
  }
}

/**
 * The backward sweep of one direction (training): from the gradient of the layer output, the
 * gradients of the gate pre-activations of every row and step, through the recurrence (the
 * transpose of lstm_forward).
 *
 * @param dy the gradient of the layer output `[batch][time][2U]`; this direction reads columns
 *   `y_offset..y_offset+U`
 * @param gates, cells what lstm_forward saved (batch-major)
 * @param mask, reverse, hard, drop as for lstm_forward
 * @param packed_t the recurrent kernel's transpose as pack_panels_transposed leaves it
 * @param dz out: `[batch][time][4U]` gradients of the pre-activations (zero at masked steps)
 * @param dh, dc `[batch][U]` scratch; rec `[batch][panel_count(U)·8]` scratch; rows
 *   `[batch][4U]` scratch; live, slot `[batch]` int scratch
 * @param dbias out: `[4U]`, the sum of dz over rows and steps (the bias's gradient)
 */
__attribute__((export_name("lstm_backward")))
void lstm_backward(int batch, int time, int units, const float* dy, int y_offset,
                   const float* gates, const float* cells, const float* mask, int reverse,
                   int hard, const float* drop, const float* packed_t, float* dz, float* dh,
                   float* dc, float* rec, float* dbias, float* rows_scratch, int* live,
                   int* slot) {
  const int panels = panel_count(units);
  const int stride = panels * 8;
  const int width = 4 * units;
  for (long n = 0; n < (long)batch * units; n++) {
    dh[n] = 0.0f;
    dc[n] = 0.0f;
  }
  for (long n = 0; n < (long)batch * stride; n++) rec[n] = 0.0f;
  const v128_t one = wasm_f32x4_splat(1.0f);
  for (int k = 0; k < time; k++) {
    // The forward direction's steps last to first; the backward direction's first to last.
    const int t = reverse ? k : time - 1 - k;
    const int previous = reverse ? t + 1 : t - 1;  // the step before t in the sweep's order
    const int has_previous = previous >= 0 && previous < time;
    const int next = reverse ? t - 1 : t + 1;      // the step after t, done just before
    // rec = dz[next] · Uᵀ: the gradient of the dropped-out h that step `next` multiplied.
    // Only the rows live at `next` have a non-zero dz there: the GEMM takes those (row i of rec
    // is the i-th of them), the others' rec is zero.
    int prefix;
    const int count = k > 0 ? live_rows(batch, time, next, mask, live, slot, &prefix) : 0;
    if (k > 0) {
      live_gemm(count, prefix, live, width, time * width, panels, dz + (long)next * width,
                packed_t, rows_scratch, rec);
    }
    for (int b = 0; b < batch; b++) {
      const long row = (long)b * time + t;
      const float* dy_row = dy + row * 2 * units + y_offset;
      float* dh_row = dh + (long)b * units;
      float* dc_row = dc + (long)b * units;
      const int has_rec = k > 0 && slot[b] >= 0;
      const float* rec_row = has_rec ? rec + (long)slot[b] * stride : 0;
      const float* drop_row = drop == 0 ? 0 : drop + (long)b * units;
      float* dz_row = dz + row * width;
      const int live = mask == 0 || mask[row] != 0.0f;
      if (!live) {
        // The state passed through: so does its gradient.
        for (int u = 0; u < units; u++) {
          const float r = has_rec ? (drop_row != 0 ? rec_row[u] * drop_row[u] : rec_row[u]) : 0.0f;
          dh_row[u] = dy_row[u] + dh_row[u] + r;
        }
        for (int j = 0; j < width; j++) dz_row[j] = 0.0f;
        continue;
      }
      const float* g_row = gates + row * width;
      const float* c_row = cells + row * units;
      const float* c_prev = has_previous ? cells + ((long)b * time + previous) * units : 0;
      int u = 0;
      for (; u + 4 <= units; u += 4) {
        v128_t r = wasm_f32x4_splat(0.0f);
        if (has_rec) {
          r = wasm_v128_load(rec_row + u);
          if (drop_row != 0) r = wasm_f32x4_mul(r, wasm_v128_load(drop_row + u));
        }
        const v128_t d_h = wasm_f32x4_add(
            wasm_f32x4_add(wasm_v128_load(dy_row + u), wasm_v128_load(dh_row + u)), r);
        const v128_t gi = wasm_v128_load(g_row + u);
        const v128_t gf = wasm_v128_load(g_row + units + u);
        const v128_t gg = wasm_v128_load(g_row + 2 * units + u);
        const v128_t go = wasm_v128_load(g_row + 3 * units + u);
        const v128_t tc = tanh4(wasm_v128_load(c_row + u));
        const v128_t cp = has_previous ? wasm_v128_load(c_prev + u) : wasm_f32x4_splat(0.0f);
        const v128_t d_c = wasm_f32x4_add(
            wasm_v128_load(dc_row + u),
            wasm_f32x4_mul(wasm_f32x4_mul(d_h, go), wasm_f32x4_sub(one, wasm_f32x4_mul(tc, tc))));
        wasm_v128_store(dz_row + u, wasm_f32x4_mul(wasm_f32x4_mul(d_c, gg),
                                                   gate_derivative4(gi, hard)));
        wasm_v128_store(dz_row + units + u, wasm_f32x4_mul(wasm_f32x4_mul(d_c, cp),
                                                           gate_derivative4(gf, hard)));
        wasm_v128_store(dz_row + 2 * units + u,
                        wasm_f32x4_mul(wasm_f32x4_mul(d_c, gi),
                                       wasm_f32x4_sub(one, wasm_f32x4_mul(gg, gg))));
        wasm_v128_store(dz_row + 3 * units + u, wasm_f32x4_mul(wasm_f32x4_mul(d_h, tc),
                                                               gate_derivative4(go, hard)));
        wasm_v128_store(dh_row + u, wasm_f32x4_splat(0.0f));
        wasm_v128_store(dc_row + u, wasm_f32x4_mul(d_c, gf));
      }
      for (; u < units; u++) {
        float r = 0.0f;
        if (has_rec) r = drop_row != 0 ? rec_row[u] * drop_row[u] : rec_row[u];
        const float d_h = dy_row[u] + dh_row[u] + r;
        const float gi = g_row[u];
        const float gf = g_row[units + u];
        const float gg = g_row[2 * units + u];
        const float go = g_row[3 * units + u];
        const float tc = tanh1(c_row[u]);
        const float cp = has_previous ? c_prev[u] : 0.0f;
        const float d_c = dc_row[u] + d_h * go * (1.0f - tc * tc);
        dz_row[u] = d_c * gg * gate_derivative1(gi, hard);
        dz_row[units + u] = d_c * cp * gate_derivative1(gf, hard);
        dz_row[2 * units + u] = d_c * gi * (1.0f - gg * gg);
        dz_row[3 * units + u] = d_h * tc * gate_derivative1(go, hard);
        dh_row[u] = 0.0f;
        dc_row[u] = d_c * gf;
      }
    }
  }
  for (int j = 0; j < width; j++) dbias[j] = 0.0f;
  for (long row = 0; row < (long)batch * time; row++) {
    const float* dz_row = dz + row * width;
    int j = 0;
    for (; j + 4 <= width; j += 4) {
      wasm_v128_store(dbias + j, wasm_f32x4_add(wasm_v128_load(dbias + j), wasm_v128_load(dz_row + j)));
    }
    for (; j < width; j++) dbias[j] += dz_row[j];
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
  gemm(rows, depth, depth, panels, x, packed, g);
  for (long r = 0; r < rows; r++) {
    for (int j = 0; j < width; j++) out[r * width + j] = g[r * stride + j] + bias[j];
  }
}

/* ---- CRF forward–backward: the loss and its gradient tables in training, marginals in
 * prediction ---- */

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

/** log(x) for a finite x > 0, in float64: x = m·2^e with m in [√½, √2), log m = 2·atanh(s). */
static double log64(double x) {
  union { double d; unsigned long long u; } v = {x};
  int e = (int)((v.u >> 52) & 0x7ff) - 1023;
  v.u = (v.u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
  double m = v.d;
  if (m > 1.41421356237309504880) {
    m *= 0.5;
    e += 1;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double p = 1.0 / 21.0;
  p = p * s2 + 1.0 / 19.0;
  p = p * s2 + 1.0 / 17.0;
  p = p * s2 + 1.0 / 15.0;
  p = p * s2 + 1.0 / 13.0;
  p = p * s2 + 1.0 / 11.0;
  p = p * s2 + 1.0 / 9.0;
  p = p * s2 + 1.0 / 7.0;
  p = p * s2 + 1.0 / 5.0;
  p = p * s2 + 1.0 / 3.0;
  p = p * s2 + 1.0;
  return 2.0 * s * p + e * 0.69314718055994530942;
}

/** Divides `count` floats (a multiple of 4) by their sum; returns the sum. */
static inline float normalise(float* v, int count) {
  v128_t total = wasm_f32x4_splat(0.0f);
  for (int j = 0; j < count; j += 4) total = wasm_f32x4_add(total, wasm_v128_load(v + j));
  const float sum = wasm_f32x4_extract_lane(total, 0) + wasm_f32x4_extract_lane(total, 1) +
                    wasm_f32x4_extract_lane(total, 2) + wasm_f32x4_extract_lane(total, 3);
  const v128_t inverse = wasm_f32x4_splat(1.0f / sum);
  for (int j = 0; j < count; j += 4) wasm_v128_store(v + j, wasm_f32x4_mul(wasm_v128_load(v + j), inverse));
  return sum;
}

/** Whether a normaliser is usable: positive and finite (not underflowed, not NaN). */
static inline int usable(float sum) { return sum > 0.0f && sum < 3.4e38f; }

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

/** Floats of forward_backward's scratch for sequences of up to `length` tokens. */
static inline long scratch_floats(int length, int k, int kp) { return (3L * length + k + 2) * kp; }

/**
 * Forward–backward of one CRF sequence in scaled probability space (float32, Rabiner scaling):
 * exp is taken once per score, shifted by its row's (or table's) maximum, and each step's
 * forward and backward vectors are renormalised, their log-norms summed in float64.
 *
 * @param length tokens (≥ 1); k tags; kp = k rounded up to 4
 * @param emissions `[length, k]`
 * @param pad the padding tag (its emission gets `penalty`), or -1
 * @param exp_trans `[k, kp]`: exp(transitions − their max), zero-padded columns
 * @param exp_trans_t the same transposed (`[k, kp]`: row j holds column j)
 * @param exp_start, exp_end `[kp]`: exp(start − max), exp(end − max), zero-padded
 * @param scratch scratch_floats(length, k, kp) floats
 * @param marginals `[length, k]`: the per-token marginals P(y_t = j)
 * @param pairs null, or `[k, k]` to which the pair marginals P(y_{t-1} = i, y_t = j) summed over
 *   t are added
 * @returns the log-partition less the shifts of the transition, start and end tables (those are
 *   the caller's to add), or NaN where float32 underflowed (a normaliser was 0)
 */
static double forward_backward(int length, int k, const float* emissions, int pad, float penalty,
                               const float* exp_trans, const float* exp_trans_t,
                               const float* exp_start, const float* exp_end, float* scratch,
                               float* marginals, float* pairs) {
  const int kp = (k + 3) & ~3;
  float* exp_emit = scratch;
  float* alpha = exp_emit + (long)length * kp;
  float* beta = alpha + (long)length * kp;
  float* weighted = beta + (long)length * kp;
  float* product = weighted + kp;
  float* pair_sum = product + kp;
  int ok = 1;
  double log_z = 0.0;
  for (int t = 0; t < length; t++) {
    float* row = exp_emit + (long)t * kp;
    float max = -3.4e38f;
    for (int j = 0; j < k; j++) {
      row[j] = emissions[(long)t * k + j] + (j == pad ? penalty : 0.0f);
      if (row[j] > max) max = row[j];
    }
    log_z += max;
    for (int j = k; j < kp; j++) row[j] = -1e30f;
    const v128_t shift = wasm_f32x4_splat(max);
    for (int j = 0; j < kp; j += 4) {
      wasm_v128_store(row + j, exp4(wasm_f32x4_sub(wasm_v128_load(row + j), shift)));
    }
  }
  for (int j = 0; j < kp; j += 4) {
    wasm_v128_store(alpha + j, wasm_f32x4_mul(wasm_v128_load(exp_start + j), wasm_v128_load(exp_emit + j)));
  }
  float sum = normalise(alpha, kp);
  ok &= usable(sum);
  log_z += log64(sum);
  for (int t = 1; t < length; t++) {
    float* a = alpha + (long)t * kp;
    vector_matrix(k, kp, alpha + (long)(t - 1) * kp, exp_trans, a);
    const float* e = exp_emit + (long)t * kp;
    for (int j = 0; j < kp; j += 4) wasm_v128_store(a + j, wasm_f32x4_mul(wasm_v128_load(a + j), wasm_v128_load(e + j)));
    sum = normalise(a, kp);
    ok &= usable(sum);
    log_z += log64(sum);
  }
  const float* a_last = alpha + (long)(length - 1) * kp;
  float end_sum = 0.0f;
  for (int j = 0; j < k; j++) end_sum += a_last[j] * exp_end[j];
  ok &= usable(end_sum);
  log_z += log64(end_sum);
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
    ok &= usable(normalise(b, kp));
  }
  if (pairs) {
    /* P(y_{t-1}=i, y_t=j) ∝ alpha[t-1, i] · exp_trans[i, j] · exp_emit[t, j] · beta[t, j]. */
    for (long c = 0; c < (long)k * kp; c++) pair_sum[c] = 0.0f;
    for (int t = 1; t < length; t++) {
      const float* e = exp_emit + (long)t * kp;
      const float* b = beta + (long)t * kp;
      for (int j = 0; j < kp; j += 4) {
        wasm_v128_store(weighted + j, wasm_f32x4_mul(wasm_v128_load(e + j), wasm_v128_load(b + j)));
      }
      const float* a = alpha + (long)(t - 1) * kp;
      vector_matrix(k, kp, a, exp_trans, product);
      v128_t total = wasm_f32x4_splat(0.0f);
      for (int j = 0; j < kp; j += 4) {
        total = MADD(wasm_v128_load(product + j), wasm_v128_load(weighted + j), total);
      }
      const float norm = wasm_f32x4_extract_lane(total, 0) + wasm_f32x4_extract_lane(total, 1) +
                         wasm_f32x4_extract_lane(total, 2) + wasm_f32x4_extract_lane(total, 3);
      ok &= usable(norm);
      const float inverse = 1.0f / norm;
      for (int i = 0; i < k; i++) {
        const v128_t ai = wasm_f32x4_splat(a[i] * inverse);
        const float* m = exp_trans + (long)i * kp;
        float* out = pair_sum + (long)i * kp;
        for (int j = 0; j < kp; j += 4) {
          const v128_t p = wasm_f32x4_mul(wasm_v128_load(m + j), wasm_v128_load(weighted + j));
          wasm_v128_store(out + j, MADD(ai, p, wasm_v128_load(out + j)));
        }
      }
    }
    for (int i = 0; i < k; i++) {
      for (int j = 0; j < k; j++) pairs[i * k + j] += pair_sum[(long)i * kp + j];
    }
  }
  for (int t = 0; t < length; t++) {
    float* a = alpha + (long)t * kp;
    const float* b = beta + (long)t * kp;
    for (int j = 0; j < kp; j += 4) wasm_v128_store(a + j, wasm_f32x4_mul(wasm_v128_load(a + j), wasm_v128_load(b + j)));
    ok &= usable(normalise(a, kp));
    for (int j = 0; j < k; j++) marginals[(long)t * k + j] = a[j];
  }
  return ok ? log_z : 0.0 / 0.0;
}

/**
 * Per-token marginals P(y_t = j) of one CRF sequence (prediction's decoder, a distillation
 * teacher's targets): forward_backward without the pair marginals.
 *
 * @param scratch scratch_floats(length, k, kp) floats; out `[length, k]`; the rest as
 *   forward_backward
 * @returns 1, or 0 where float32 underflowed (then `out` is not usable)
 */
__attribute__((export_name("crf_marginals")))
int crf_marginals(int length, int k, const float* emissions, int pad, float penalty,
                  const float* exp_trans, const float* exp_trans_t, const float* exp_start,
                  const float* exp_end, float* scratch, float* out) {
  const double log_z = forward_backward(length, k, emissions, pad, penalty, exp_trans, exp_trans_t,
                                        exp_start, exp_end, scratch, out, 0);
  return log_z == log_z;
}

/**
 * The CRF loss of a batch and its gradient tables, one call: per sequence b of length L =
 * lengths[b] (real tokens a prefix of the row; L = 0 gives loss 0 and zero gradients),
 *
 *   loss[b] = logZ − gold score (+ the soft targets' shift),
 *   grad_emit[b, t, j] = P(y_t = j) − [j = gold_t] (− weight·(q_tj − [j = gold_t])), 0 on padding,
 *   grad_trans[b, i, j] = Σ_t P(y_{t-1} = i, y_t = j) − gold pair counts,
 *   grad_start[b, j] = P(y_0 = j) − [j = gold_0], grad_end[b, j] = P(y_{L-1} = j) − [j = gold_{L-1}].
 *
 * Soft targets q (distillation; `soft` null for none) replace `weight` of each token's gold
 * emission term by Σ_j q_j · emit_j (the emission without the padding penalty).
 *
 * @param batch, time, k the emissions' shape `[batch, time, k]`
 * @param tags `[batch, time]` gold tags; lengths `[batch]`
 * @param trans `[k, k]`, start, end `[k]`: the raw scores (for the gold path)
 * @param exp_trans, exp_trans_t, exp_start, exp_end: as forward_backward
 * @param shift the tables' shifts: max(start) + max(end); trans_max: max(transitions)
 * @param scratch scratch_floats(time, k, kp) floats
 * @param losses `[batch]`; grad_emit `[batch, time, k]`; grad_trans `[batch, k, k]`; grad_start,
 *   grad_end `[batch, k]`
 * @returns the number of sequences whose forward–backward underflowed float32 (their values are
 *   not usable)
 */
__attribute__((export_name("crf_loss")))
int crf_loss(int batch, int time, int k, const float* emissions, const int* tags,
             const int* lengths, int pad, float penalty, const float* trans, const float* start,
             const float* end, const float* exp_trans, const float* exp_trans_t,
             const float* exp_start, const float* exp_end, double shift, double trans_max,
             const float* soft, float weight, float* scratch, float* losses, float* grad_emit,
             float* grad_trans, float* grad_start, float* grad_end) {
  int failed = 0;
  for (int b = 0; b < batch; b++) {
    const int length = lengths[b];
    const float* emit = emissions + (long)b * time * k;
    const int* gold = tags + (long)b * time;
    float* g_emit = grad_emit + (long)b * time * k;
    float* g_trans = grad_trans + (long)b * k * k;
    float* g_start = grad_start + (long)b * k;
    float* g_end = grad_end + (long)b * k;
    for (long c = (long)length * k; c < (long)time * k; c++) g_emit[c] = 0.0f;
    for (int c = 0; c < k * k; c++) g_trans[c] = 0.0f;
    if (length <= 0) {
      for (int j = 0; j < k; j++) g_start[j] = g_end[j] = 0.0f;
      losses[b] = 0.0f;
      continue;
    }
    double log_z = forward_backward(length, k, emit, pad, penalty, exp_trans, exp_trans_t,
                                    exp_start, exp_end, scratch, g_emit, g_trans);
    if (log_z != log_z) failed++;
    log_z += shift + (length - 1) * trans_max;
    for (int j = 0; j < k; j++) {
      g_start[j] = g_emit[j];
      g_end[j] = g_emit[(long)(length - 1) * k + j];
    }
    double score = (double)start[gold[0]] + (double)end[gold[length - 1]];
    g_start[gold[0]] -= 1.0f;
    g_end[gold[length - 1]] -= 1.0f;
    for (int t = 0; t < length; t++) {
      const int tag = gold[t];
      score += (double)emit[(long)t * k + tag] + (tag == pad ? (double)penalty : 0.0);
      g_emit[(long)t * k + tag] -= 1.0f;
      if (t > 0) {
        const int pair = gold[t - 1] * k + tag;
        score += trans[pair];
        g_trans[pair] -= 1.0f;
      }
    }
    double soft_shift = 0.0;
    if (soft) {
      for (int t = 0; t < length; t++) {
        const float* q = soft + ((long)b * time + t) * k;
        const float* e = emit + (long)t * k;
        float* g = g_emit + (long)t * k;
        double expected = 0.0;
        for (int j = 0; j < k; j++) {
          expected += (double)q[j] * (double)e[j];
          g[j] -= weight * q[j];
        }
        g[gold[t]] += weight;
        soft_shift += (double)weight * ((double)e[gold[t]] - expected);
      }
    }
    losses[b] = (float)(log_z - score + soft_shift);
  }
  return failed;
}

/** One 4×4 block of a transpose: rows r..r+4, columns c..c+4 of src[·, cols] into dst[·, rows]. */
static inline void transpose4x4(int rows, int cols, const float* src, float* dst, int r, int c) {
  const float* s0 = src + (long)r * cols + c;
  const v128_t a = wasm_v128_load(s0);
  const v128_t b = wasm_v128_load(s0 + cols);
  const v128_t e = wasm_v128_load(s0 + 2 * cols);
  const v128_t f = wasm_v128_load(s0 + 3 * cols);
  const v128_t ab_lo = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5);
  const v128_t ab_hi = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7);
  const v128_t ef_lo = wasm_i32x4_shuffle(e, f, 0, 4, 1, 5);
  const v128_t ef_hi = wasm_i32x4_shuffle(e, f, 2, 6, 3, 7);
  float* d = dst + (long)c * rows + r;
  wasm_v128_store(d, wasm_i64x2_shuffle(ab_lo, ef_lo, 0, 2));
  wasm_v128_store(d + rows, wasm_i64x2_shuffle(ab_lo, ef_lo, 1, 3));
  wasm_v128_store(d + 2 * rows, wasm_i64x2_shuffle(ab_hi, ef_hi, 0, 2));
  wasm_v128_store(d + 3 * rows, wasm_i64x2_shuffle(ab_hi, ef_hi, 1, 3));
}

/**
 * dst[cols, rows] = the transpose of src[rows, cols] (both row-major), in tiles of 16 rows (so
 * each column's 16 values are written together) of 4×4 blocks; the weight gradients multiply by
 * the transposed pre-activation gradients of the backward sweep.
 */
__attribute__((export_name("transpose")))
void transpose(int rows, int cols, const float* src, float* dst) {
  const int cols4 = cols & ~3;
  const int rows4 = rows & ~3;
  for (int c = 0; c < cols4; c += 4) {
    for (int r = 0; r < rows4; r += 4) transpose4x4(rows, cols, src, dst, r, c);
  }
  for (int r = 0; r < rows; r++) {
    for (int c = r < rows4 ? cols4 : 0; c < cols; c++) {
      dst[(long)c * rows + r] = src[(long)r * cols + c];
    }
  }
}
