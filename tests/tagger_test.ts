/**
 * `Tagger`: its one forward pass against its tfjs-layers graph (`tagger.model`, the reference)
 * for every variant, values and gradients; stock and fast BiLSTMs alike; config errors; that
 * disposing frees everything; `setWeights` refusing what does not fit; and that no library code
 * finds layers by name or class.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { CASING_COUNT } from "../lib/data/chars.ts";
import { seededRandom } from "../lib/data/random.ts";
import { ConfigError } from "../lib/errors.ts";
import {
  checkTaggerOptions,
  resolveTaggerConfig,
  type TaggerOptions,
} from "../lib/model/config.ts";
import { crfNegLogLikelihood } from "../lib/model/crf/mod.ts";
import type { TaggerBatch } from "../lib/model/forward.ts";
import { type NamedWeight, Tagger } from "../lib/model/tagger.ts";

await initBackend({ backend: "wasm" });

// The reference gradients of a stock BiLSTM model with char features go through tfjs-layers'
// Concatenate, whose mask is `All` over the word mask and `onesLike(char features)`: tfjs tapes
// it (it touches the char CNN's output) and then finds no gradient for `All`. Its output is
// boolean, so a zero gradient is exact.
if (tf.getGradient("All") == null) {
  tf.registerGradient({
    kernelName: "All",
    inputsToSave: ["x"],
    gradFunc: (_dy, saved) => ({ x: () => tf.zeros(saved[0].shape, "float32") }),
  });
}

const TOLERANCE = 1e-4;

const SMALL = {
  vocabSize: 30,
  numTags: 7,
  maxLen: 6,
  units: 4,
  embeddingDim: 5,
  recurrentDropout: 0.2, // a training-only setting: inference must ignore it
  seed: 21,
};

const CHARS = { charFeatures: true, numChars: 12, maxChars: 5, charDim: 3, charFilters: 4 };

const CRF = { modelType: "bilstm-crf" } as const;

/** Every variant, on both BiLSTM kinds where it has BiLSTMs. */
const VARIANTS: { name: string; options: Partial<TaggerOptions> }[] = [
  { name: "softmax", options: {} },
  { name: "crf", options: { ...CRF } },
  { name: "softmax+chars", options: { ...CHARS } },
  { name: "crf+chars", options: { ...CRF, ...CHARS } },
  { name: "softmax+chars, casingDim 0", options: { ...CHARS, casingDim: 0 } },
  { name: "crf+chars, casingDim 0", options: { ...CRF, ...CHARS, casingDim: 0 } },
  { name: "softmax, both dropouts", options: { dropout: 0.5, outputDropout: 0.4 } },
  {
    name: "crf+chars, both dropouts",
    options: { ...CRF, ...CHARS, dropout: 0.3, outputDropout: 0.5 },
  },
  { name: "softmax, 0 BiLSTMs", options: { biLstmLayers: 0 } },
  { name: "crf+chars, 0 BiLSTMs", options: { ...CRF, ...CHARS, biLstmLayers: 0 } },
  { name: "softmax, 2 BiLSTMs", options: { biLstmLayers: 2 } },
  { name: "crf+chars, 2 BiLSTMs", options: { ...CRF, ...CHARS, biLstmLayers: 2 } },
  { name: "softmax, hardSigmoid gates", options: { recurrentActivation: "hardSigmoid" } },
  { name: "crf+chars, relu char CNN", options: { ...CRF, ...CHARS, charActivation: "relu" } },
  { name: "softmax, maskPadding false", options: { maskPadding: false } },
  { name: "crf+chars, maskPadding false", options: { ...CRF, ...CHARS, maskPadding: false } },
  { name: "stock softmax", options: { layer: "stock" } },
  { name: "stock crf", options: { layer: "stock", ...CRF } },
  { name: "stock softmax+chars", options: { layer: "stock", ...CHARS } },
  { name: "stock crf+chars", options: { layer: "stock", ...CRF, ...CHARS } },
  {
    name: "stock crf+chars, both dropouts",
    options: { layer: "stock", ...CRF, ...CHARS, dropout: 0.3, outputDropout: 0.5 },
  },
  { name: "stock softmax, 0 BiLSTMs", options: { layer: "stock", biLstmLayers: 0 } },
  { name: "stock softmax, 2 BiLSTMs", options: { layer: "stock", biLstmLayers: 2 } },
  {
    name: "stock crf+chars, 2 BiLSTMs",
    options: { layer: "stock", ...CRF, ...CHARS, biLstmLayers: 2 },
  },
  { name: "stock softmax, maskPadding false", options: { layer: "stock", maskPadding: false } },
  {
    name: "stock crf+chars, maskPadding false",
    options: { layer: "stock", ...CRF, ...CHARS, maskPadding: false },
  },
];

/** Post-padded rows of real tokens (PAD = 0 after each row's length), `maxLen` columns. */
interface Rows {
  lengths: number[];
  /** `[rows, maxLen]` word ids in [1, vocabSize) for real tokens. */
  wordIds: Int32Array;
  /** `[rows, maxLen, maxChars]` char ids: a prefix of ids in [1, numChars), then 0. */
  charIds: Int32Array;
  /** `[rows, maxLen]` casing classes in [1, CASING_COUNT) for real tokens. */
  casingIds: Int32Array;
  /** `[rows, maxLen]` gold tags in [1, numTags) for real tokens. */
  tagIds: Int32Array;
  /** `[rows, maxLen]` 1 for real tokens. */
  mask: Float32Array;
}

function makeRows(tagger: Tagger, lengths: number[], seed: number): Rows {
  const { maxLen, maxChars, numChars, vocabSize, numTags } = tagger.config;
  const random = seededRandom(seed);
  const draw = (from: number, to: number) => from + Math.floor(random() * (to - from));
  const n = lengths.length * maxLen;
  const rows: Rows = {
    lengths,
    wordIds: new Int32Array(n),
    charIds: new Int32Array(n * maxChars),
    casingIds: new Int32Array(n),
    tagIds: new Int32Array(n),
    mask: new Float32Array(n),
  };
  lengths.forEach((length, row) => {
    for (let t = 0; t < length; t++) {
      const cell = row * maxLen + t;
      rows.wordIds[cell] = draw(1, vocabSize);
      rows.casingIds[cell] = draw(1, CASING_COUNT);
      rows.tagIds[cell] = draw(1, numTags);
      rows.mask[cell] = 1;
      const chars = draw(1, maxChars + 1);
      for (let c = 0; c < chars; c++) rows.charIds[cell * maxChars + c] = draw(1, numChars);
    }
  });
  return rows;
}

/** The steps a forward pass over `rows` computes: the longest row, or `maxLen` unmasked. */
function timeOf(tagger: Tagger, rows: Rows): number {
  return tagger.config.maskPadding ? Math.max(1, ...rows.lengths) : tagger.config.maxLen;
}

/** The first `time` columns of `[rows, maxLen, inner]` values. */
function columns<A extends Int32Array | Float32Array>(
  values: A,
  rows: number,
  maxLen: number,
  time: number,
  inner = 1,
): A {
  const out = new (values.constructor as { new (n: number): A })(rows * time * inner);
  for (let r = 0; r < rows; r++) {
    out.set(values.subarray(r * maxLen * inner, (r * maxLen + time) * inner), r * time * inner);
  }
  return out;
}

/** The forward pass's input for `rows`, trimmed to `time` steps (tensors: call inside tidy). */
function forwardBatch(tagger: Tagger, rows: Rows, time: number): TaggerBatch {
  const { maxLen, maxChars, charFeatures, casingDim } = tagger.config;
  const b = rows.lengths.length;
  return {
    batchSize: b,
    time,
    wordIds: tf.tensor2d(columns(rows.wordIds, b, maxLen, time), [b, time], "int32"),
    charIds: charFeatures
      ? tf.tensor2d(columns(rows.charIds, b, maxLen, time, maxChars), [b * time, maxChars], "int32")
      : null,
    casingIds: charFeatures && casingDim > 0
      ? tf.tensor1d(columns(rows.casingIds, b, maxLen, time), "int32")
      : null,
  };
}

/** The LayersModel's inputs for `rows` (tensors: call inside tidy). */
function modelInputs(tagger: Tagger, rows: Rows): tf.Tensor | tf.Tensor[] {
  const { maxLen, maxChars, charFeatures } = tagger.config;
  const b = rows.lengths.length;
  const wordIds = tf.tensor2d(rows.wordIds, [b, maxLen], "int32");
  if (!charFeatures) return wordIds;
  return [
    wordIds,
    tf.tensor3d(rows.charIds, [b, maxLen, maxChars], "int32"),
    tf.tensor2d(rows.casingIds, [b, maxLen], "int32"),
  ];
}

/** Largest difference over real tokens: forward `[b·time, K]` against model `[b, maxLen, K]`. */
function worstOnRealTokens(
  tagger: Tagger,
  rows: Rows,
  time: number,
  forward: ArrayLike<number>,
  model: ArrayLike<number>,
): number {
  const { maxLen, numTags } = tagger.config;
  let worst = 0;
  let compared = 0;
  rows.lengths.forEach((length, r) => {
    for (let t = 0; t < length; t++) {
      for (let k = 0; k < numTags; k++) {
        const a = forward[(r * time + t) * numTags + k];
        const b = model[(r * maxLen + t) * numTags + k];
        worst = Math.max(worst, Math.abs(a - b));
        compared++;
      }
    }
  });
  assert.ok(compared > 0, "no real tokens compared");
  assert.ok(Number.isFinite(worst), "non-finite scores");
  return worst;
}

/** Moves every weight by seeded noise, so that biases, transitions and all matter. */
function perturb(tagger: Tagger, seed: number): void {
  const named: NamedWeight[] = tagger.model.weights.map((w, i) => ({
    name: w.originalName,
    tensor: tf.tidy(() => {
      const value = w.read();
      return tf.add(value, tf.randomNormal(value.shape, 0, 0.3, "float32", seed + i));
    }),
  }));
  tagger.setWeights(named, "perturb");
  tf.dispose(named.map((w) => w.tensor));
}

/** A small tagger of a variant, its weights perturbed. */
function smallTagger(options: Partial<TaggerOptions>): Tagger {
  const tagger = new Tagger({ ...SMALL, ...options });
  perturb(tagger, 1000);
  return tagger;
}

/** Row sets: one as long as maxLen, one shorter (a masking tagger computes only 4 steps). */
const ROW_LENGTHS = [[6, 3, 1, 4], [4, 2, 1]];

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

for (const { name, options } of VARIANTS) {
  Deno.test(`forward pass = model.predict on real tokens (${name})`, () => {
    const tagger = smallTagger(options);
    ROW_LENGTHS.forEach((lengths, index) => {
      const rows = makeRows(tagger, lengths, 7 + index);
      const time = timeOf(tagger, rows);
      const [forward, predicted, shape] = tf.tidy(() => {
        const scores = tagger.forward(forwardBatch(tagger, rows, time));
        const out = tagger.hasCrf ? scores : tf.softmax(scores);
        const model = tagger.model.predict(modelInputs(tagger, rows)) as tf.Tensor;
        return [out.dataSync(), model.dataSync(), scores.shape];
      });
      assert.deepEqual(shape, [lengths.length * time, SMALL.numTags], name);
      const worst = worstOnRealTokens(tagger, rows, time, forward, predicted);
      assert.ok(worst < TOLERANCE, `${name}, rows ${lengths}: differs by ${worst}`);
    });
    tagger.dispose();
  });

  Deno.test(`forward pass gradients = model gradients for every variable (${name})`, () => {
    const tagger = smallTagger(options);
    const { maxLen, numTags } = tagger.config;
    const variables = tagger.model.trainableWeights.map((w) => w.read() as tf.Variable);
    // At least the word embedding and the head's kernel and bias.
    assert.ok(variables.length >= 3, `${name}: trainable variables`);
    ROW_LENGTHS.forEach((lengths, index) => {
      const rows = makeRows(tagger, lengths, 30 + index);
      const b = lengths.length;
      const time = timeOf(tagger, rows);
      // A fixed random weight per score, zero on padding: the scalar sees real tokens only.
      const random = seededRandom(50 + index);
      const weightValues = Float32Array.from(
        { length: b * maxLen * numTags },
        (_, i) => rows.mask[Math.floor(i / numTags)] * (2 * random() - 1),
      );
      const weights = tf.tensor3d(weightValues, [b, maxLen, numTags]);
      const forwardWeights = tf.tensor2d(
        columns(weightValues, b, maxLen, time, numTags),
        [b * time, numTags],
      );
      const crf = tagger.parts.crf;
      // Inputs live outside the differentiated functions, as in the trainer: gatherRows's
      // gradient reads the ids after the forward pass.
      const batch = forwardBatch(tagger, rows, time);
      const inputs = modelInputs(tagger, rows);
      const gold = [time, maxLen].map((steps) => ({
        tags: tf.tensor2d(columns(rows.tagIds, b, maxLen, steps), [b, steps], "int32"),
        mask: tf.tensor2d(columns(rows.mask, b, maxLen, steps), [b, steps]),
      }));
      /** A CRF head's scalar adds the CRF loss, so the transitions get a gradient too. */
      const crfLoss = (emissions: tf.Tensor3D, { tags, mask }: (typeof gold)[number]) =>
        crfNegLogLikelihood(emissions, tags, mask, crf!, { reduction: "sum" });
      const throughForward = () => {
        const scores = tagger.forward(batch);
        const out = tagger.hasCrf ? scores : tf.softmax(scores);
        const value = tf.sum(tf.mul(out, forwardWeights));
        return (crf
          ? tf.add(value, crfLoss(tf.reshape(scores, [b, time, numTags]), gold[0]))
          : value) as tf.Scalar;
      };
      const throughModel = () => {
        const out = tagger.model.apply(inputs, { training: false }) as tf.Tensor3D;
        const value = tf.sum(tf.mul(out, weights));
        return (crf ? tf.add(value, crfLoss(out, gold[1])) : value) as tf.Scalar;
      };
      const ours = tf.variableGrads(throughForward, variables);
      const reference = tf.variableGrads(throughModel, variables);
      const values = [ours.value.dataSync()[0], reference.value.dataSync()[0]];
      assert.ok(Math.abs(values[0] - values[1]) < TOLERANCE, `${name}: scalars ${values}`);
      for (const variable of variables) {
        const [a, r] = [ours.grads[variable.name], reference.grads[variable.name]];
        assert.ok(a && r, `${name}: ${variable.name} has a gradient in both`);
        const worst = maxAbsDiff(a, r);
        assert.ok(
          worst < TOLERANCE,
          `${name}, rows ${lengths}: ${variable.name} differs by ${worst}`,
        );
        const largest = tf.tidy(() => tf.max(tf.abs(r)).dataSync()[0]);
        assert.ok(largest > 0, `${name}: ${variable.name} has a non-zero gradient`);
      }
      tf.dispose([batch.wordIds, batch.charIds ?? [], batch.casingIds ?? [], inputs]);
      tf.dispose(gold.flatMap(({ tags, mask }) => [tags, mask]));
      tf.dispose([ours.value, reference.value, weights, forwardWeights]);
      tf.dispose([...Object.values(ours.grads), ...Object.values(reference.grads)]);
    });
    tagger.dispose();
  });
}

Deno.test("stock and fast taggers of the same options and seed start alike and compute alike", () => {
  const cases: Partial<TaggerOptions>[] = [
    {},
    { ...CRF, ...CHARS },
    { biLstmLayers: 2 },
    { ...CRF, ...CHARS, biLstmLayers: 2, dropout: 0.2 },
    { maskPadding: false },
    { recurrentActivation: "hardSigmoid", unitForgetBias: false },
  ];
  for (const options of cases) {
    const what = JSON.stringify(options);
    const [fast, stock] = (["fast", "stock"] as const).map((layer) =>
      new Tagger({ ...SMALL, ...options, layer })
    );
    const [wf, ws] = [fast, stock].map((t) => t.model.getWeights());
    assert.equal(wf.length, ws.length, what);
    wf.forEach((w, i) => assert.equal(maxAbsDiff(w, ws[i]), 0, `${what}: weight ${i}`));
    for (const lengths of ROW_LENGTHS) {
      const rows = makeRows(fast, lengths, 3);
      const time = timeOf(fast, rows);
      const [a, b] = [fast, stock].map((t) => t.forward(forwardBatch(t, rows, time)));
      const worst = maxAbsDiff(a, b);
      assert.ok(worst < TOLERANCE, `${what}, rows ${lengths}: forward differs by ${worst}`);
      tf.dispose([a, b]);
    }
    fast.dispose();
    stock.dispose();
  }
});

/** Runs `f`, expecting a ConfigError that names `field`. */
function assertConfigError(f: () => unknown, field: string): void {
  assert.throws(f, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.ok(error instanceof RangeError);
    assert.equal(error.field, field);
    assert.ok(error.message.startsWith(`${field} `), error.message);
    return true;
  });
}

Deno.test("resolveTaggerConfig names the bad field in a ConfigError", () => {
  const base = { vocabSize: 30, numTags: 7 };
  const chars = { charFeatures: true, numChars: 12 };
  const bad: [Partial<TaggerOptions> | Record<string, unknown>, string][] = [
    [{ units: 0 }, "units"],
    [{ dropout: 1 }, "dropout"],
    [{ outputDropout: -0.1 }, "outputDropout"],
    [{ ...chars, charWidth: 2 }, "charWidth"],
    [{ modelType: "x" }, "modelType"],
    [{ layer: "slow" }, "layer"],
    [{ charFeatures: true, numChars: 0 }, "numChars"],
    [{ charFeatures: true }, "numChars"],
    [{ biLstmLayers: -1 }, "biLstmLayers"],
    [{ vocabSize: 0 }, "vocabSize"],
    [{ embeddingDim: 2.5 }, "embeddingDim"],
  ];
  for (const [options, field] of bad) {
    const given = { ...base, ...options } as TaggerOptions;
    assertConfigError(() => resolveTaggerConfig(given), field);
    assertConfigError(() => new Tagger(given), field);
  }
  // What is allowed: no BiLSTM, and char settings resolved away without char features.
  const config = resolveTaggerConfig({ ...base, biLstmLayers: 0 });
  assert.equal(config.biLstmLayers, 0);
  assert.ok(Object.isFrozen(config));
  assertConfigError(() => checkTaggerOptions({ charFilters: 10 }, "model."), "model.charFilters");
  assertConfigError(() => checkTaggerOptions({ units: 0 }, "model."), "model.units");
  assertConfigError(() => checkTaggerOptions({ colour: 1 } as never, "model."), "model.colour");
  checkTaggerOptions({ charFeatures: true, charFilters: 10 }, "model.");
});

Deno.test("disposing a tagger frees every tensor it made, for every variant", () => {
  for (const { name, options } of VARIANTS) {
    for (const init of ["seeded", "zeros"] as const) {
      const before = tf.memory().numTensors;
      const tagger = new Tagger({ ...SMALL, ...options }, init);
      assert.equal(
        tf.memory().numTensors - before,
        tagger.model.weights.length,
        `${name} (${init}): weights only`,
      );
      tagger.dispose();
      assert.equal(tf.memory().numTensors, before, `${name} (${init}): after dispose`);
    }
  }
});

Deno.test("disposing a tagger that has run frees every tensor it made, for every variant", () => {
  for (const { name, options } of VARIANTS) {
    const before = tf.memory().numTensors;
    const tagger = new Tagger({ ...SMALL, ...options });
    const rows = makeRows(tagger, [4, 2], 5);
    tf.tidy(() => {
      tagger.forward(forwardBatch(tagger, rows, timeOf(tagger, rows)));
      tagger.model.predict(modelInputs(tagger, rows));
    });
    tagger.dispose();
    assert.equal(tf.memory().numTensors, before, `${name}: after forward, predict and dispose`);
  }
});

Deno.test("setWeights refuses a wrong count or shape, naming the source, and assigns nothing", () => {
  const options = { ...SMALL, ...CRF, ...CHARS, biLstmLayers: 2 };
  const tagger = new Tagger(options);
  const other = new Tagger({ ...options, seed: 99 });
  const snapshot = () => tagger.model.getWeights().map((w) => Array.from(w.dataSync()));
  const original = snapshot();
  const named: NamedWeight[] = other.model.weights.map((w) => ({
    name: w.originalName,
    tensor: w.read(),
  }));
  const source = "runs/some-folder/checkpoints/epoch-002";
  const refused = (weights: NamedWeight[], message: RegExp) => {
    assert.throws(() => tagger.setWeights(weights, source), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.ok(error.message.includes(source), `names the source: ${error.message}`);
      assert.match(error.message, message);
      return true;
    });
    assert.deepEqual(snapshot(), original, "nothing was assigned");
  };
  const count = named.length;
  refused(named.slice(0, -1), new RegExp(`${count - 1} stored weights.*${count}`));
  refused([...named, named[0]], new RegExp(`${count + 1} stored weights`));
  const wrongShape = tf.zeros([2, 3]);
  const last = named[count - 1];
  refused(
    [...named.slice(0, -1), { name: last.name, tensor: wrongShape }],
    new RegExp(`"${last.name}" has shape \\[2,3\\]`),
  );
  refused(
    [{ name: named[0].name, tensor: wrongShape }, ...named.slice(1)],
    new RegExp(`"${named[0].name}" has shape \\[2,3\\]`),
  );
  wrongShape.dispose();
  // What fits is assigned: the tagger then holds the other's weights.
  tagger.setWeights(named, source);
  const [mine, theirs] = [tagger, other].map((t) => t.model.getWeights());
  mine.forEach((w, i) => assert.equal(maxAbsDiff(w, theirs[i]), 0));
  tagger.dispose();
  other.dispose();
});

/**
 * Code that finds a layer by its name or class: what the tagger's typed parts replaced. Each
 * pattern comes with code it must catch.
 */
const LAYER_LOOKUPS: { pattern: RegExp; catches: string[] }[] = [
  {
    pattern: /getClassName\(\)\s*(===|!==|==|!=)/,
    catches: ['if (layer.getClassName() === "CrfLayer") {', "l.getClassName()!=name"],
  },
  {
    pattern: /(===|!==|==|!=)\s*[\w$.\[\]]*\.getClassName\(\)/,
    catches: ['if ("FastBiLSTM" === layer.getClassName())', "x == model.layers[1].getClassName()"],
  },
  {
    pattern: /includes\([^)]*\.getClassName\(\)/,
    catches: ['["CharCnn", "CrfLayer"].includes(layer.getClassName())'],
  },
  {
    pattern: /\.getClassName\(\)\s*\)*\s*\.(includes|startsWith|endsWith|match|indexOf)\(/,
    catches: ['layer.getClassName().includes("LSTM")', 'String(l.getClassName()).startsWith("B")'],
  },
  {
    pattern: /\.map\(.*\.getClassName\(\)\)\s*\.(includes|indexOf|some|find)\(/,
    catches: ['model.layers.map((l) => l.getClassName()).includes("CrfLayer")'],
  },
  {
    pattern: /switch\s*\([^)]*\.getClassName\(\)/,
    catches: ["switch (layer.getClassName()) {"],
  },
  {
    pattern:
      /\b(l|layer|\w*[Ll]ayers?(\[[^\]]*\])?)\.(name|originalName)\s*(===|!==|==|!=)\s*["'`]/,
    catches: [
      'if (layer.name === "crf")',
      "find((l) => l.name === 'bilstm')",
      'model.layers[2].name !== "tags"',
      'headLayer.name == "tags"',
    ],
  },
  {
    pattern:
      /\b(l|layer|\w*[Ll]ayers?(\[[^\]]*\])?)\.name\s*\.(startsWith|endsWith|includes|match)\(/,
    catches: ['biLstms = all.filter((l) => l.name.startsWith("bilstm"))'],
  },
  {
    pattern: /constructor\.name\s*(===|!==|==|!=)/,
    catches: ['layer.constructor.name === "CrfLayer"'],
  },
  {
    pattern: /instanceof\s+(CharCnn|CrfLayer|FastBiLSTM)\b/,
    catches: [
      "const crf = model.layers.find((l) => l instanceof CrfLayer);",
      "x instanceof FastBiLSTM",
    ],
  },
  {
    pattern: /layers\.(find|filter|some|findIndex|findLast|every)\(/,
    catches: [
      "model.layers.find((l) => true)",
      "this.model.layers.some(isCrf)",
      "layers.filter(f)",
    ],
  },
  {
    pattern: /\.getLayer\(/,
    catches: ['model.getLayer("crf")', "this.model.getLayer(undefined, 3)"],
  },
];

/** Lines of ordinary library code that must not be mistaken for a layer lookup. */
const INNOCENT = [
  'static className = "CrfLayer";',
  'else if (entry.name === "weights.bin") total += size;',
  'const name = content.name === "stderr" ? "stderr" : "stdout";',
  "for (const biLstm of parts.biLstms) sequence = biLstm.apply(sequence);",
  "parts.biLstms.flatMap((layer) => layer.trainableWeights)",
  "this.parts.biLstms.forEach((layer, index) => {",
];

Deno.test("the layer-lookup patterns catch lookups and pass ordinary code", () => {
  for (const { pattern, catches } of LAYER_LOOKUPS) {
    for (const code of catches) assert.match(code, pattern, `${pattern} should catch: ${code}`);
  }
  for (const code of INNOCENT) {
    for (const { pattern } of LAYER_LOOKUPS) {
      assert.doesNotMatch(code, pattern, `${pattern} should pass: ${code}`);
    }
  }
});

/** Every .ts file under `directory`, recursively. */
async function typeScriptFiles(directory: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(directory)) {
    const path = `${directory}/${entry.name}`;
    if (entry.isDirectory) files.push(...await typeScriptFiles(path));
    else if (entry.isFile && path.endsWith(".ts")) files.push(path);
  }
  return files;
}

Deno.test("no library code finds a layer by its name or class", async () => {
  const lib = new URL("../lib", import.meta.url).pathname;
  const files = await typeScriptFiles(lib);
  assert.ok(files.length > 20, `scanned ${files.length} files`);
  assert.ok(files.some((f) => f.endsWith("/model/tagger.ts")), "lib/model/tagger.ts scanned");
  const found: string[] = [];
  for (const file of files) {
    const lines = (await Deno.readTextFile(file)).split("\n");
    lines.forEach((line, index) => {
      for (const { pattern } of LAYER_LOOKUPS) {
        if (pattern.test(line)) {
          found.push(`${file.slice(lib.length - 3)}:${index + 1}: ${line.trim()} (${pattern})`);
        }
      }
    });
  }
  assert.deepEqual(found, [], `layer lookups by name or class:\n${found.join("\n")}`);
});
