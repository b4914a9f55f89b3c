/**
 * The CRF's parameters: transition, start and end scores as tf Variables (created from a seeded
 * PRNG), and their host copies for decoding and marginals in plain JS.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { seededRandom } from "../../data/random.ts";

/** Score added to the padding label's emission so it is never chosen for a real token. */
export const PADDING_TAG_PENALTY = -1e4;

/** The CRF's trainable parameters, as tf Variables. */
export interface CrfParameters {
  /** `[K, K]`: score of tag `i` followed by tag `j` at `[i, j]`. */
  transitions: tf.Variable<tf.Rank.R2>;
  /** `[K]`: score of a sequence starting with each tag. */
  startTransitions: tf.Variable<tf.Rank.R1>;
  /** `[K]`: score of a sequence ending with each tag. */
  endTransitions: tf.Variable<tf.Rank.R1>;
  /** Number of tags `K`, padding label included. */
  numTags: number;
  /** The padding label, never predicted for a real token; `null` for none. */
  paddingTagId: number | null;
}

/**
 * The CRF's parameters as any tensors (the tf-ops reference takes these, e.g. constants made from
 * host parameters); {@link CrfParameters} is one.
 */
export interface CrfTensors {
  /** `[K, K]` transition scores. */
  transitions: tf.Tensor2D;
  /** `[K]` start scores. */
  startTransitions: tf.Tensor1D;
  /** `[K]` end scores. */
  endTransitions: tf.Tensor1D;
  /** Number of tags `K`. */
  numTags: number;
  /** The padding label; `null` for none. */
  paddingTagId: number | null;
}

/** Options for {@link createCrfParameters}. */
export interface CrfParameterOptions {
  /** Seed for the uniform initialiser; unseeded (Math.random) when absent. */
  seed?: number;
  /** Initial values are uniform in `[-initScale, initScale]`; 0 gives zeros. Default 0.1. */
  initScale?: number;
  /** The padding label; `null` for none. Default 0. */
  paddingTagId?: number | null;
  /**
   * Prefix of the variable names (`<name>/transitions`, `<name>/start`, `<name>/end`); tfjs
   * variable names must be unique. Default `crf_<n>` with a per-process counter.
   */
  name?: string;
  /** Whether the variables are trainable. Default true. */
  trainable?: boolean;
}

/** Default {@link CrfParameterOptions} (the seed stays optional). */
export const DEFAULT_CRF_PARAMETER_OPTIONS: Required<
  Omit<CrfParameterOptions, "seed" | "name">
> = {
  initScale: 0.1,
  paddingTagId: 0,
  trainable: true,
};

/** Counter for default variable-name prefixes. */
let nextCrfId = 0;

/**
 * Creates the CRF parameters: `transitions [K, K]`, `startTransitions [K]`, `endTransitions [K]`,
 * each drawn uniform in `[-initScale, initScale]` from a seeded mulberry32 PRNG (reproducible by
 * seed). The padding label's transitions are initialised like the others; it is excluded by the
 * emission penalty instead (see the module doc).
 *
 * @param numTags number of tags `K`, padding label included.
 * @param options seed, init scale, padding label, names; see {@link CrfParameterOptions}.
 * @returns the variables (dispose with {@link disposeCrfParameters}).
 */
export function createCrfParameters(
  numTags: number,
  options: CrfParameterOptions = {},
): CrfParameters {
  const { initScale, paddingTagId, trainable } = { ...DEFAULT_CRF_PARAMETER_OPTIONS, ...options };
  const name = options.name ?? `crf_${nextCrfId++}`;
  if (!Number.isInteger(numTags) || numTags < 1) {
    throw new Error(`createCrfParameters: numTags must be a positive integer, got ${numTags}`);
  }
  if (paddingTagId !== null && (paddingTagId < 0 || paddingTagId >= numTags)) {
    throw new Error(`createCrfParameters: paddingTagId ${paddingTagId} not in 0..${numTags - 1}`);
  }
  const random = seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 31));
  const draw = (size: number) => {
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = (2 * random() - 1) * initScale;
    return values;
  };
  return {
    transitions: tf.variable(
      tf.tensor2d(draw(numTags * numTags), [numTags, numTags]),
      trainable,
      `${name}/transitions`,
    ),
    startTransitions: tf.variable(tf.tensor1d(draw(numTags)), trainable, `${name}/start`),
    endTransitions: tf.variable(tf.tensor1d(draw(numTags)), trainable, `${name}/end`),
    numTags,
    paddingTagId,
  };
}

/** Disposes the three variables of a {@link CrfParameters}. */
export function disposeCrfParameters(params: CrfParameters): void {
  params.transitions.dispose();
  params.startTransitions.dispose();
  params.endTransitions.dispose();
}

/** CRF parameters copied to the host, for decoding and marginals in plain JS. */
export interface CrfHostParameters {
  /** `K*K` row-major: `transitions[i*K + j]` scores tag `i` followed by tag `j`. */
  transitions: Float32Array;
  /** `K`: start scores. */
  start: Float32Array;
  /** `K`: end scores. */
  end: Float32Array;
}

/**
 * Copies the CRF parameters to the host (synchronous read).
 *
 * @param params the variables.
 * @returns Float32Array copies for {@link viterbiDecode} and {@link crfMarginals}.
 */
export function readCrfParameters(params: CrfParameters): CrfHostParameters {
  return {
    transitions: params.transitions.dataSync() as Float32Array,
    start: params.startTransitions.dataSync() as Float32Array,
    end: params.endTransitions.dataSync() as Float32Array,
  };
}

/**
 * Soft targets for distillation: a teacher's distribution over the tags at every token. The
 * gold path's emission score is replaced by `(1 − weight)·emit(gold) + weight·Σ_k q_k·emit(k)`
 * (transitions, start and end stay the gold path's), so the emission gradient becomes
 * `marginals − ((1 − weight)·onehot(gold) + weight·q)`: at weight 1 the loss is the cross-entropy
 * of the student's CRF to the teacher's per-token posteriors (posterior distillation).
 */
export interface SoftTargets {
  /** `[batch, T, K]` per-token distributions (rows of real tokens sum to 1). */
  targets: Float32Array;
  /** Weight of the soft targets against the gold tags, in (0, 1]. */
  weight: number;
}
