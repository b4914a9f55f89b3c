/**
 * The LSTM cell arithmetic of {@link ./_step_kernels.ts}: one direction of one forward or
 * backward time step on raw float32 arrays (gate activations, cell and hidden state, padding
 * mask, recurrent dropout). These loops run once per time step and direction on every batch:
 * they are the speed-critical part of the layer, so they allocate nothing and take plain
 * positional arguments.
 *
 * @module
 */

/** Attributes shared by the step kernels. */
export interface StepAttrs {
  /** Batch size. */
  batch: number;
  /** Units per direction. */
  units: number;
  /** Time index of the forward direction at this step. */
  tF: number;
  /** Time index of the backward direction at this step. */
  tB: number;
  /** 1 for sigmoid gates, 0 for hard sigmoid. */
  sigmoid: number;
  /** 1 when a padding mask is given. */
  hasMask: number;
  /** 1 when recurrent-dropout masks are given. */
  hasDropout: number;
}

/** tanh via exp (float64; max abs error ~3e-16, about twice as fast as `Math.tanh` in V8). */
function tanh(z: number): number {
  return 1 - 2 / (Math.exp(2 * z) + 1);
}

function gateActivation(z: number, sigmoid: boolean): number {
  if (sigmoid) return 1 / (1 + Math.exp(-z));
  const y = 0.2 * z + 0.5;
  return y < 0 ? 0 : y > 1 ? 1 : y;
}

function gateDerivative(a: number, sigmoid: boolean): number {
  if (sigmoid) return a * (1 - a);
  return a > 0 && a < 1 ? 0.2 : 0;
}

/**
 * A padded (masked) row of a forward step: the state passes through unchanged (dropped-out h
 * recomputed with this step's mask), and its gates are zero.
 */
function carryPaddedRow(
  rowS: number,
  rowG: number,
  units: number,
  hPrev: Float32Array,
  cPrev: Float32Array,
  drop: Float32Array | null,
  outH: Float32Array,
  outC: Float32Array,
  outHd: Float32Array,
  outG: Float32Array,
): void {
  for (let u = 0; u < units; u++) {
    const s = rowS + u;
    outH[s] = hPrev[s];
    outC[s] = cPrev[s];
    outHd[s] = drop === null ? hPrev[s] : hPrev[s] * drop[s];
  }
  outG.fill(0, rowG, rowG + 4 * units);
}

/** One direction of one forward step, on raw arrays. */
export function forwardDirection(
  a: StepAttrs,
  t: number,
  zx: Float32Array,
  r: Float32Array,
  hPrev: Float32Array,
  cPrev: Float32Array,
  mask: Float32Array | null,
  drop: Float32Array | null,
  outH: Float32Array,
  outC: Float32Array,
  outHd: Float32Array,
  outG: Float32Array,
): void {
  const { batch, units } = a;
  const sigmoid = a.sigmoid === 1;
  const g4 = 4 * units;
  const zxBase = t * batch * g4;
  for (let b = 0; b < batch; b++) {
    const live = mask === null || mask[t * batch + b] !== 0;
    const rowG = b * g4;
    const rowS = b * units;
    if (!live) {
      carryPaddedRow(rowS, rowG, units, hPrev, cPrev, drop, outH, outC, outHd, outG);
      continue;
    }
    for (let u = 0; u < units; u++) {
      const k = rowG + u;
      const zk = zxBase + k;
      const gi = gateActivation(zx[zk] + r[k], sigmoid);
      const gf = gateActivation(zx[zk + units] + r[k + units], sigmoid);
      const gc = tanh(zx[zk + 2 * units] + r[k + 2 * units]);
      const go = gateActivation(zx[zk + 3 * units] + r[k + 3 * units], sigmoid);
      const s = rowS + u;
      const c = gf * cPrev[s] + gi * gc;
      const h = go * tanh(c);
      outG[k] = gi;
      outG[k + units] = gf;
      outG[k + 2 * units] = gc;
      outG[k + 3 * units] = go;
      outC[s] = c;
      outH[s] = h;
      outHd[s] = drop === null ? h : h * drop[s];
    }
  }
}

/**
 * One direction of one forward step from gate activations computed elsewhere: `s` holds
 * `sigmoid` of the pre-activations (the cell-candidate block of 2× its pre-activation, so
 * `tanh(z) = 2·sigmoid(2z) − 1`), rows `sRow0..sRow0+batch` of `s`.
 */
export function forwardDirectionFromSigmoid(
  a: StepAttrs,
  t: number,
  s: Float32Array,
  sRow0: number,
  hPrev: Float32Array,
  cPrev: Float32Array,
  mask: Float32Array | null,
  drop: Float32Array | null,
  outH: Float32Array,
  outC: Float32Array,
  outHd: Float32Array,
  outG: Float32Array,
): void {
  const { batch, units } = a;
  const g4 = 4 * units;
  for (let b = 0; b < batch; b++) {
    const live = mask === null || mask[t * batch + b] !== 0;
    const rowG = b * g4;
    const rowS = b * units;
    if (!live) {
      carryPaddedRow(rowS, rowG, units, hPrev, cPrev, drop, outH, outC, outHd, outG);
      continue;
    }
    const sBase = (sRow0 + b) * g4;
    for (let u = 0; u < units; u++) {
      const k = rowG + u;
      const sk = sBase + u;
      const gi = s[sk];
      const gf = s[sk + units];
      const gc = 2 * s[sk + 2 * units] - 1;
      const go = s[sk + 3 * units];
      const j = rowS + u;
      const c = gf * cPrev[j] + gi * gc;
      const h = go * tanh(c);
      outG[k] = gi;
      outG[k + units] = gf;
      outG[k + 2 * units] = gc;
      outG[k + 3 * units] = go;
      outC[j] = c;
      outH[j] = h;
      outHd[j] = drop === null ? h : h * drop[j];
    }
  }
}

/** One direction of one backward step, on raw arrays. */
export function backwardDirection(
  a: StepAttrs,
  t: number,
  dyOffset: number,
  dy: Float32Array,
  gates: Float32Array,
  cCur: Float32Array,
  cPrev: Float32Array,
  rec: Float32Array,
  dhPass: Float32Array,
  dcNext: Float32Array,
  mask: Float32Array | null,
  drop: Float32Array | null,
  outDz: Float32Array,
  outDhPass: Float32Array,
  outDc: Float32Array,
): void {
  const { batch, units } = a;
  const sigmoid = a.sigmoid === 1;
  const g4 = 4 * units;
  const time = dy.length / (batch * 2 * units);
  for (let b = 0; b < batch; b++) {
    const live = mask === null || mask[t * batch + b] !== 0;
    const rowG = b * g4;
    const rowS = b * units;
    // dy is batch-major [batch, time, 2*units].
    const rowY = (b * time + t) * 2 * units + dyOffset;
    for (let u = 0; u < units; u++) {
      const s = rowS + u;
      const dH = dy[rowY + u] + dhPass[s] + (drop === null ? rec[s] : rec[s] * drop[s]);
      const dC = dcNext[s];
      if (!live) {
        outDhPass[s] = dH;
        outDc[s] = dC;
        continue;
      }
      const k = rowG + u;
      const gi = gates[k];
      const gf = gates[k + units];
      const gc = gates[k + 2 * units];
      const go = gates[k + 3 * units];
      const tc = tanh(cCur[s]);
      const dc = dC + dH * go * (1 - tc * tc);
      outDz[k] = dc * gc * gateDerivative(gi, sigmoid);
      outDz[k + units] = dc * cPrev[s] * gateDerivative(gf, sigmoid);
      outDz[k + 2 * units] = dc * gi * (1 - gc * gc);
      outDz[k + 3 * units] = dH * tc * gateDerivative(go, sigmoid);
      outDhPass[s] = 0;
      outDc[s] = dc * gf;
    }
    if (!live) outDz.fill(0, rowG, rowG + g4);
  }
}

/** Inputs beyond ±this give `tanhRational` ±1 (to float32 precision). */
const TANH_CLAMP = 7.90531110763549805;

/**
 * tanh as a rational function (the coefficients of Eigen's float `tanh`, which TensorFlow's CPU
 * kernels use): max abs error 2.6e-7 against `Math.tanh` (a few float32 ulps), about twice as
 * fast as `Math.exp` in V8. Used by the inference step only: the training step keeps
 * {@link tanh}, so gradients are those of the exact function.
 */
export function tanhRational(x: number): number {
  if (x > TANH_CLAMP) x = TANH_CLAMP;
  else if (x < -TANH_CLAMP) x = -TANH_CLAMP;
  const x2 = x * x;
  const p = x * (4.89352455891786e-03 +
    x2 * (6.37261928875436e-04 +
        x2 * (1.48572235717979e-05 +
            x2 * (5.12229709037114e-08 +
                x2 *
                  (-8.60467152213735e-11 +
                    x2 * (2.00018790482477e-13 + x2 * -2.76076847742355e-16))))));
  const q = 4.89352518554385e-03 +
    x2 * (2.26843463243900e-03 + x2 * (1.18534705686654e-04 + x2 * 1.19825839466702e-06));
  return p / q;
}

/**
 * One direction of one inference step from sigmoid gate activations (as
 * {@link forwardDirectionFromSigmoid}, rows `sRow0..sRow0+batch` of `s`), keeping only what the
 * next step and the layer output need: the new `h` and `c`, and `h` written into the layer output
 * `y` (`[batch, time, 2·units]`, this direction's half at `yOffset`). No gates, no dropout; the
 * cell's tanh is {@link tanhRational}.
 */
export function inferenceDirection(
  a: { batch: number; units: number; time: number },
  t: number,
  s: Float32Array,
  sRow0: number,
  hPrev: Float32Array,
  cPrev: Float32Array,
  mask: Float32Array | null,
  outH: Float32Array,
  outC: Float32Array,
  y: Float32Array,
  yOffset: number,
): void {
  const { batch, units, time } = a;
  const g4 = 4 * units;
  for (let b = 0; b < batch; b++) {
    const rowS = b * units;
    const rowY = (b * time + t) * 2 * units + yOffset;
    if (mask !== null && mask[t * batch + b] === 0) {
      for (let u = 0; u < units; u++) {
        outH[rowS + u] = hPrev[rowS + u];
        outC[rowS + u] = cPrev[rowS + u];
        y[rowY + u] = hPrev[rowS + u];
      }
      continue;
    }
    const sBase = (sRow0 + b) * g4;
    for (let u = 0; u < units; u++) {
      const sk = sBase + u;
      const j = rowS + u;
      const c = s[sk + units] * cPrev[j] + s[sk] * (2 * s[sk + 2 * units] - 1);
      const h = s[sk + 3 * units] * tanhRational(c);
      outC[j] = c;
      outH[j] = h;
      y[rowY + u] = h;
    }
  }
}
