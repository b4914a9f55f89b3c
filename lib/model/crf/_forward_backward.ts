/**
 * Forward–backward for one CRF sequence in plain JS (float64), shared by the host loss and
 * {@link ./marginals.ts}.
 *
 * @module
 */
import { type CrfHostParameters, PADDING_TAG_PENALTY } from "./params.ts";

/** Forward–backward result of one sequence on the host (float64). */
export interface ForwardBackward {
  /** `[L*K]` per-token marginals `P(y_t = j)`. */
  marginals: Float64Array;
  /** `[L*K]` emissions of the sequence, padding penalty included. */
  emit: Float64Array;
  /** log-partition. */
  logZ: number;
}

/** The shifted exponential tables of one sequence, and the log-scales taken out so far. */
interface ScaledTables {
  /** `[L*K]` emissions, padding penalty included. */
  emit: Float64Array;
  /** `[L*K]` `exp(emit[t, j] − max_j emit[t, ·])`. */
  expEmit: Float64Array;
  /** `[K*K]` `exp(transitions − max)`. */
  expTrans: Float64Array;
  startMax: number;
  endMax: number;
  /** The maxima taken out of the tables, summed along every path. */
  logZ: number;
}

/** Largest value of `values[offset .. offset+count)`. */
export function maxOf(values: ArrayLike<number>, offset: number, count: number): number {
  let max = -Infinity;
  for (let k = 0; k < count; k++) if (values[offset + k] > max) max = values[offset + k];
  return max;
}

/**
 * Forward–backward for one sequence in plain JS, in scaled probability space (Rabiner scaling):
 * `exp` is taken once per score (shifted by its row or table maximum) and each step's forward and
 * backward vectors are renormalised, their log-scales summed into `logZ`. This needs only
 * multiply-adds in the `K×K` inner loops. Exact up to float64 rounding unless scores within one
 * table (transitions, or one step's emissions) differ by more than ~700, where the smaller ones
 * would underflow to probability 0.
 *
 * @param emissions source array; the sequence's `[T, K]` block starts at `offset`.
 * @param offset where the sequence starts in `emissions`.
 * @param length number of real tokens (at least 1).
 * @param params the host parameters.
 * @param numTags `K`.
 * @param paddingTagId the label whose emission gets the padding penalty; `null` for none.
 * @param pairCounts when given, expected transition counts `Σ_t P(y_{t-1}=i, y_t=j)` are added
 *   at `pairCounts[pairOffset + i*K + j]`.
 * @param pairOffset where this sequence's `K*K` counts start in `pairCounts`.
 * @returns the marginals, the penalised emissions and `logZ`.
 */
export function forwardBackward(
  emissions: ArrayLike<number>,
  offset: number,
  length: number,
  params: CrfHostParameters,
  numTags: number,
  paddingTagId: number | null,
  pairCounts: Float32Array | null = null,
  pairOffset = 0,
): ForwardBackward {
  const K = numTags;
  const tables = scaledTables(emissions, offset, length, params, K, paddingTagId);
  const { alpha, expEnd, logZ } = forwardPass(tables, params, length, K);
  const weighted = new Float64Array(K);
  const beta = backwardPass(tables.expEmit, tables.expTrans, expEnd, weighted, length, K);
  const marginals = tokenMarginals(alpha, beta, length, K);
  if (pairCounts !== null) {
    const { expEmit, expTrans } = tables;
    addPairMarginals(alpha, beta, expEmit, expTrans, weighted, length, K, pairCounts, pairOffset);
  }
  return { marginals, emit: tables.emit, logZ };
}

/** The sequence's emissions (penalised) and the shifted exponentials of every score table. */
function scaledTables(
  emissions: ArrayLike<number>,
  offset: number,
  length: number,
  params: CrfHostParameters,
  K: number,
  paddingTagId: number | null,
): ScaledTables {
  const emit = new Float64Array(length * K);
  for (let i = 0; i < length * K; i++) emit[i] = emissions[offset + i];
  if (paddingTagId !== null) {
    for (let t = 0; t < length; t++) emit[t * K + paddingTagId] += PADDING_TAG_PENALTY;
  }
  // Shifted exponentials: expEmit[t, j] = exp(emit[t, j] − max_j emit[t, ·]), etc.
  const expEmit = new Float64Array(length * K);
  let logZ = 0;
  for (let t = 0; t < length; t++) {
    const max = maxOf(emit, t * K, K);
    logZ += max;
    for (let j = 0; j < K; j++) expEmit[t * K + j] = Math.exp(emit[t * K + j] - max);
  }
  const transMax = maxOf(params.transitions, 0, K * K);
  const expTrans = new Float64Array(K * K);
  for (let i = 0; i < K * K; i++) expTrans[i] = Math.exp(params.transitions[i] - transMax);
  const startMax = maxOf(params.start, 0, K);
  const endMax = maxOf(params.end, 0, K);
  logZ += startMax + endMax + (length - 1) * transMax;
  return { emit, expEmit, expTrans, startMax, endMax, logZ };
}

/**
 * Forward: `alpha[t] ∝ P(y_0..t, x_0..t)`, each step normalised to sum 1, the log-norms added
 * to `tables.logZ` (then the end scores' norm), giving the log-partition.
 */
function forwardPass(
  tables: ScaledTables,
  params: CrfHostParameters,
  length: number,
  K: number,
): { alpha: Float64Array; expEnd: Float64Array; logZ: number } {
  const { expEmit, expTrans, startMax, endMax } = tables;
  let logZ = tables.logZ;
  const alpha = new Float64Array(length * K);
  let norm = 0;
  for (let j = 0; j < K; j++) {
    alpha[j] = Math.exp(params.start[j] - startMax) * expEmit[j];
    norm += alpha[j];
  }
  for (let j = 0; j < K; j++) alpha[j] /= norm;
  logZ += Math.log(norm);
  for (let t = 1; t < length; t++) {
    const prev = (t - 1) * K;
    const cur = t * K;
    for (let i = 0; i < K; i++) {
      const a = alpha[prev + i];
      if (a === 0) continue;
      for (let j = 0; j < K; j++) alpha[cur + j] += a * expTrans[i * K + j];
    }
    norm = 0;
    for (let j = 0; j < K; j++) {
      alpha[cur + j] *= expEmit[cur + j];
      norm += alpha[cur + j];
    }
    for (let j = 0; j < K; j++) alpha[cur + j] /= norm;
    logZ += Math.log(norm);
  }
  const last = (length - 1) * K;
  const expEnd = new Float64Array(K);
  norm = 0;
  for (let j = 0; j < K; j++) {
    expEnd[j] = Math.exp(params.end[j] - endMax);
    norm += alpha[last + j] * expEnd[j];
  }
  logZ += Math.log(norm);
  return { alpha, expEnd, logZ };
}

/**
 * Backward: `beta[t] ∝ P(x_{t+1..} | y_t)`, normalised per step. `weighted` is `[K]` scratch.
 */
function backwardPass(
  expEmit: Float64Array,
  expTrans: Float64Array,
  expEnd: Float64Array,
  weighted: Float64Array,
  length: number,
  K: number,
): Float64Array {
  const beta = new Float64Array(length * K);
  beta.set(expEnd, (length - 1) * K);
  for (let t = length - 2; t >= 0; t--) {
    const next = (t + 1) * K;
    for (let j = 0; j < K; j++) weighted[j] = expEmit[next + j] * beta[next + j];
    let norm = 0;
    for (let i = 0; i < K; i++) {
      let total = 0;
      for (let j = 0; j < K; j++) total += expTrans[i * K + j] * weighted[j];
      beta[t * K + i] = total;
      norm += total;
    }
    for (let i = 0; i < K; i++) beta[t * K + i] /= norm;
  }
  return beta;
}

/** Per-token marginals: `alpha·beta` of each step, normalised to sum 1. */
function tokenMarginals(
  alpha: Float64Array,
  beta: Float64Array,
  length: number,
  K: number,
): Float64Array {
  const marginals = new Float64Array(length * K);
  for (let t = 0; t < length; t++) {
    let norm = 0;
    for (let j = 0; j < K; j++) {
      marginals[t * K + j] = alpha[t * K + j] * beta[t * K + j];
      norm += marginals[t * K + j];
    }
    for (let j = 0; j < K; j++) marginals[t * K + j] /= norm;
  }
  return marginals;
}

/**
 * Adds the pair marginals `P(y_{t-1}=i, y_t=j)`, summed over `t`, to
 * `pairCounts[pairOffset + i*K + j]`. `weighted` is `[K]` scratch.
 */
function addPairMarginals(
  alpha: Float64Array,
  beta: Float64Array,
  expEmit: Float64Array,
  expTrans: Float64Array,
  weighted: Float64Array,
  length: number,
  K: number,
  pairCounts: Float32Array,
  pairOffset: number,
): void {
  // P(y_{t-1}=i, y_t=j) ∝ alpha[t-1, i] · expTrans[i, j] · expEmit[t, j] · beta[t, j].
  const pair = new Float64Array(K * K);
  for (let t = 1; t < length; t++) {
    for (let j = 0; j < K; j++) weighted[j] = expEmit[t * K + j] * beta[t * K + j];
    let norm = 0;
    for (let i = 0; i < K; i++) {
      const a = alpha[(t - 1) * K + i];
      for (let j = 0; j < K; j++) {
        const p = a * expTrans[i * K + j] * weighted[j];
        pair[i * K + j] = p;
        norm += p;
      }
    }
    for (let k = 0; k < K * K; k++) pairCounts[pairOffset + k] += pair[k] / norm;
  }
}
