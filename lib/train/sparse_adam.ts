/**
 * Adam optimisers that update tfjs variables in place on the backend's memory (wasm heap or cpu
 * arrays), with the exact update rule of `tf.train.adam` (tfjs 4.22):
 *
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,
 *   w ← w − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)      (ε = 1e-7 by default, tfjs's value)
 *
 * - {@link SparseAdam} (for the embedding matrix) touches only the rows present in a batch:
 *   this is *lazy* Adam — the moments of rows that are not in the batch are NOT decayed and their
 *   weights do not move, as in TensorFlow's `LazyAdam`. The bias correction uses the optimiser's
 *   global step count `t`, like LazyAdam. For a row present in every step the result equals dense
 *   Adam's; for a row seen only sometimes it differs (dense Adam would keep moving it with its
 *   decaying momentum). Cost per step: O(rows in batch × dim) instead of O(vocab × dim).
 * - {@link DenseAdam} updates whole variables (the BiLSTM and the tagger head).
 *
 * Moments live in plain `Float32Array`s, so optimiser state can be saved and restored
 * synchronously (`getState()` / `setState()`).
 *
 * Memory safety:
 * - {@link SparseAdam} writes the embedding rows truly in place (a 3.5M-element matrix is not
 *   copied per step). It first gives the variable memory of its own when another tensor shares it
 *   (`model.setWeights(t)` shares `t`'s memory). This is only valid because the embedding matrix
 *   is read by `gather` alone: tfjs's wasm backend caches packed matMul weights per tensor
 *   (XNNPACK), so an in-place write to a tensor that has been a matMul operand is NOT seen by
 *   later matMuls. Do not use SparseAdam on a matrix that is also multiplied (tied weights).
 * - {@link DenseAdam} therefore writes each updated variable into a fresh buffer (one copy of
 *   the ~0.2M BiLSTM/head parameters per step) and `assign`s it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { float32View } from "../model/bilstm/mod.ts";

/** Adam hyper-parameters. */
export interface AdamConfig {
  /** Step size; default 0.001. */
  learningRate?: number;
  /** First-moment decay; default 0.9. */
  beta1?: number;
  /** Second-moment decay; default 0.999. */
  beta2?: number;
  /** Denominator fuzz; default 1e-7 (tfjs's float32 epsilon, as `tf.train.adam` uses). */
  epsilon?: number;
}

/** Defaults of {@link AdamConfig} (those of `tf.train.adam`). */
export const DEFAULT_ADAM_CONFIG: Required<AdamConfig> = {
  learningRate: 0.001,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-7,
};

/** Saved moments of one variable. */
export interface AdamMoments {
  /** Variable name (as in `variable.name`). */
  name: string;
  /** First moments, row-major like the variable. */
  m: Float32Array;
  /** Second moments, row-major like the variable. */
  v: Float32Array;
}

/** Saved state of an Adam optimiser. */
export interface AdamState {
  /** Number of updates applied so far (t). */
  iterations: number;
  /** Moments per variable. */
  moments: AdamMoments[];
}

interface RefCountingBackend {
  refCount(dataId: tf.DataId): number;
}

/** Gives `variable` memory that no other tensor shares, so it can be written in place. */
export function ensureOwnMemory(variable: tf.Variable): void {
  const backend = tf.backend() as unknown as RefCountingBackend;
  if (backend.refCount(variable.dataId) > 1) {
    const copy = tf.tidy(() => tf.add(variable, tf.scalar(0)));
    variable.assign(copy);
    copy.dispose();
  }
}

/** A live, writable float32 view of a variable's memory (call {@link ensureOwnMemory} first). */
function variableView(variable: tf.Tensor): Float32Array {
  return float32View(tf.backend(), variable);
}

/** Applies one Adam update to `count` contiguous elements (no allocation, float64 math). */
function adamSpan(
  w: Float32Array,
  wOffset: number,
  g: Float32Array,
  gOffset: number,
  m: Float32Array,
  v: Float32Array,
  count: number,
  c: Required<AdamConfig>,
  correction1: number,
  correction2: number,
): void {
  const { beta1, beta2, epsilon, learningRate } = c;
  for (let i = 0; i < count; i++) {
    const gi = g[gOffset + i];
    const k = wOffset + i;
    const mi = beta1 * m[k] + (1 - beta1) * gi;
    const vi = beta2 * v[k] + (1 - beta2) * gi * gi;
    m[k] = mi;
    v[k] = vi;
    w[k] -= learningRate * (mi / correction1) / (Math.sqrt(vi / correction2) + epsilon);
  }
}

/** Lazy (row-sparse) Adam for an embedding matrix `[rows, dim]`. */
export class SparseAdam {
  /** Hyper-parameters in use. */
  readonly config: Required<AdamConfig>;
  /** The `[rows, dim]` variable being optimised. */
  readonly variable: tf.Variable;
  private readonly rows: number;
  private readonly dim: number;
  private m: Float32Array;
  private v: Float32Array;
  private iterations = 0;

  /**
   * @param variable the embedding matrix `[rows, dim]`
   * @param config Adam hyper-parameters (defaults of `tf.train.adam`)
   */
  constructor(variable: tf.Variable, config: AdamConfig = {}) {
    if (variable.rank !== 2) throw new Error("SparseAdam: variable must be [rows, dim]");
    this.variable = variable;
    this.config = { ...DEFAULT_ADAM_CONFIG, ...config };
    [this.rows, this.dim] = variable.shape as [number, number];
    this.m = new Float32Array(this.rows * this.dim);
    this.v = new Float32Array(this.rows * this.dim);
  }

  /**
   * Applies one update to the given rows.
   *
   * @param rowIds distinct row indices present in the batch
   * @param gradRows gradient of the loss w.r.t. those rows, `[rowIds.length, dim]` (summed over
   *   every occurrence of the row in the batch)
   */
  update(rowIds: Int32Array, gradRows: tf.Tensor): void {
    const { dim } = this;
    if (gradRows.size !== rowIds.length * dim) {
      throw new Error(`SparseAdam: gradient must be [${rowIds.length}, ${dim}]`);
    }
    this.iterations++;
    const c = this.config;
    const correction1 = 1 - Math.pow(c.beta1, this.iterations);
    const correction2 = 1 - Math.pow(c.beta2, this.iterations);
    ensureOwnMemory(this.variable);
    const w = variableView(this.variable);
    const g = float32View(tf.backend(), gradRows);
    for (let k = 0; k < rowIds.length; k++) {
      const row = rowIds[k];
      if (row < 0 || row >= this.rows) throw new Error(`SparseAdam: row ${row} out of range`);
      adamSpan(w, row * dim, g, k * dim, this.m, this.v, dim, c, correction1, correction2);
    }
  }

  /** Copy of the optimiser state (moments of every row and the step count). */
  getState(): AdamState {
    return {
      iterations: this.iterations,
      moments: [{ name: this.variable.name, m: this.m.slice(), v: this.v.slice() }],
    };
  }

  /** Restores a state from {@link getState} (copied). */
  setState(state: AdamState): void {
    const [moments] = state.moments;
    if (moments === undefined || moments.m.length !== this.m.length) {
      throw new Error("SparseAdam.setState: moments do not match the variable's shape");
    }
    this.iterations = state.iterations;
    this.m = Float32Array.from(moments.m);
    this.v = Float32Array.from(moments.v);
  }
}

/** Dense Adam over a list of variables, updated in place. */
export class DenseAdam {
  /** Hyper-parameters in use. */
  readonly config: Required<AdamConfig>;
  /** Variables being optimised, in gradient order. */
  readonly variables: readonly tf.Variable[];
  private m: Float32Array[];
  private v: Float32Array[];
  private iterations = 0;

  /**
   * @param variables the variables to optimise
   * @param config Adam hyper-parameters (defaults of `tf.train.adam`)
   */
  constructor(variables: readonly tf.Variable[], config: AdamConfig = {}) {
    this.variables = variables;
    this.config = { ...DEFAULT_ADAM_CONFIG, ...config };
    this.m = variables.map((x) => new Float32Array(x.size));
    this.v = variables.map((x) => new Float32Array(x.size));
  }

  /** Applies one update; `grads[i]` is the gradient of `variables[i]`. */
  update(grads: readonly tf.Tensor[]): void {
    if (grads.length !== this.variables.length) throw new Error("DenseAdam: one grad per variable");
    this.iterations++;
    const c = this.config;
    const correction1 = 1 - Math.pow(c.beta1, this.iterations);
    const correction2 = 1 - Math.pow(c.beta2, this.iterations);
    this.variables.forEach((variable, i) => {
      if (grads[i].size !== variable.size) {
        throw new Error(`DenseAdam: bad grad for ${variable.name}`);
      }
      // Copy-on-write: matMul weights must get new memory (see the module comment).
      const fresh = tf.tidy(() => tf.add(variable, tf.scalar(0)));
      const w = float32View(tf.backend(), fresh);
      const g = float32View(tf.backend(), grads[i]);
      adamSpan(w, 0, g, 0, this.m[i], this.v[i], variable.size, c, correction1, correction2);
      variable.assign(fresh);
      fresh.dispose();
    });
  }

  /** Copy of the optimiser state. */
  getState(): AdamState {
    return {
      iterations: this.iterations,
      moments: this.variables.map((x, i) => ({
        name: x.name,
        m: this.m[i].slice(),
        v: this.v[i].slice(),
      })),
    };
  }

  /** Restores a state from {@link getState} (matched by position; sizes checked). */
  setState(state: AdamState): void {
    if (state.moments.length !== this.variables.length) {
      throw new Error("DenseAdam.setState: wrong number of variables");
    }
    state.moments.forEach((mo, i) => {
      if (mo.m.length !== this.variables[i].size) {
        throw new Error(`DenseAdam.setState: size mismatch for ${this.variables[i].name}`);
      }
    });
    this.iterations = state.iterations;
    this.m = state.moments.map((mo) => Float32Array.from(mo.m));
    this.v = state.moments.map((mo) => Float32Array.from(mo.v));
  }
}
