/**
 * Behaviour of `lib/backend/backend.ts`: the wasm backend starts, the added `UnsortedSegmentSum` kernel
 * matches tfjs's cpu reference, an Embedding + BiLSTM training step runs on wasm without missing
 * kernels and leaves absent embedding rows untouched, and the reported thread count is the
 * number of threads really running.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { describeBackend, initBackend, REGISTERED_WASM_KERNELS } from "../lib/backend/backend.ts";
import { denoJSON } from "./fixtures/deno_child.ts";

/** Small sizes keep the whole file to a few seconds on a busy 2-core machine. */
const VOCAB = 50;
const SEQ_LEN = 5;
const NUM_TAGS = 17;
const BATCH = 4;

/** The Emscripten module behind a wasm backend, as far as thread counting needs it. */
interface WasmModuleThreads {
  PThread?: { runningWorkers: unknown[] };
}

/** Pthreads running in the active wasm backend's module, plus the calling thread. */
function runningWasmThreads(): number {
  const module = (tf.backend() as unknown as { wasm: WasmModuleThreads }).wasm;
  return (module.PThread?.runningWorkers.length ?? 0) + 1;
}

/** Runs `fn` on the cpu backend and switches back to wasm. */
async function onCpu<T>(fn: () => T): Promise<T> {
  await tf.setBackend("cpu");
  try {
    return fn();
  } finally {
    await tf.setBackend("wasm");
  }
}

/** The tutorial architecture at toy size. */
function buildTinyTagger(): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.embedding({ inputDim: VOCAB, outputDim: 8, inputLength: SEQ_LEN }));
  model.add(tf.layers.bidirectional({
    layer: tf.layers.lstm({ units: 8, returnSequences: true, recurrentDropout: 0.1 }) as tf.RNN,
  }));
  model.add(tf.layers.timeDistributed({
    layer: tf.layers.dense({ units: NUM_TAGS, activation: "softmax" }),
  }));
  return model;
}

Deno.test("initBackend selects wasm with SIMD, idempotently", async () => {
  const info = await initBackend({ backend: "wasm" });
  assert.equal(info.backend, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(info.simd, true);
  assert.equal(info.platform, tf.env().platformName);
  assert.ok(REGISTERED_WASM_KERNELS.includes("UnsortedSegmentSum"));
  assert.ok(tf.getKernel("UnsortedSegmentSum", "wasm") !== undefined);
  assert.deepEqual(await initBackend({ backend: "wasm" }), info);
  assert.match(describeBackend(info), /^backend wasm · SIMD on · \d+ threads?$/);
});

Deno.test("UnsortedSegmentSum on wasm equals the cpu kernel, duplicates summed", async () => {
  await initBackend({ backend: "wasm" });
  // Leave non-zero garbage in freed WASM memory so an unzeroed output would show.
  tf.fill([64, 64], 7).dispose();
  const numSegments = 9;
  const ids = Array.from({ length: 30 }, (_, i) => (i * 7) % 6); // ids 0..5, each 5 times
  const x = tf.randomNormal([30, 3, 4]);
  const onWasm = tf.tidy(() => tf.unsortedSegmentSum(x, tf.tensor1d(ids, "int32"), numSegments));
  assert.equal(tf.engine().backendName, "wasm");
  const wasmValues = await onWasm.array() as number[][][];
  const xValues = await x.array();
  const cpuValues = await onCpu(() =>
    tf.tidy(() =>
      tf.unsortedSegmentSum(tf.tensor(xValues), tf.tensor1d(ids, "int32"), numSegments)
        .arraySync() as number[][][]
    )
  );
  assert.deepEqual(onWasm.shape, [numSegments, 3, 4]);
  wasmValues.flat(2).forEach((v, i) => assert.ok(Math.abs(v - cpuValues.flat(2)[i]) < 1e-5));
  assert.ok(wasmValues[8].flat().every((v) => v === 0), "segment with no ids is zero");
  assert.throws(() => tf.unsortedSegmentSum(x, tf.fill([30], numSegments, "int32"), numSegments));
  tf.dispose([x, onWasm]);
});

Deno.test("a wasm training step updates only the embedding rows in the batch", async () => {
  await initBackend({ backend: "wasm" });
  const model = buildTinyTagger();
  model.compile({ optimizer: tf.train.sgd(0.5), loss: "sparseCategoricalCrossentropy" });
  const presentIds = [3, 5, 8, 13, 21, 34];
  const xs = tf.tensor2d(
    Array.from({ length: BATCH * SEQ_LEN }, (_, i) => presentIds[i % presentIds.length]),
    [BATCH, SEQ_LEN],
    "int32",
  );
  const ys = tf.tensor3d(
    Array.from({ length: BATCH * SEQ_LEN }, (_, i) => (i * 5) % NUM_TAGS),
    [BATCH, SEQ_LEN, 1],
  );
  const embedding = model.layers[0].getWeights()[0];
  const before = await embedding.array() as number[][];

  const profile = await tf.profile(async () => {
    await model.fit(xs, ys, { epochs: 1, batchSize: BATCH, verbose: 0 });
  });
  const after = await model.layers[0].getWeights()[0].array() as number[][];

  assert.equal(tf.getBackend(), "wasm");
  const kernels = profile.kernelNames.filter((name) => !name.endsWith("__op")); // op-level records
  assert.ok(kernels.includes("UnsortedSegmentSum"), "the embedding gradient ran");
  const missing = kernels.filter((name) => tf.getKernel(name, "wasm") === undefined);
  assert.deepEqual(missing, [], "every kernel of the step is a wasm kernel");
  for (let row = 0; row < VOCAB; row++) {
    if (presentIds.includes(row)) {
      assert.notDeepEqual(after[row], before[row], `row ${row} is in the batch`);
    } else {
      assert.deepEqual(after[row], before[row], `row ${row} is absent from the batch`);
    }
  }
  tf.dispose([xs, ys]);
  model.dispose();
});

Deno.test("the reported thread count is the number of threads running", async (t) => {
  await t.step("in this process (default: one thread)", async () => {
    const info = await initBackend({ backend: "wasm" });
    assert.equal(info.threads, 1);
    assert.equal(runningWasmThreads(), info.threads);
  });
  await t.step("in a child asking for two threads", async () => {
    const backendUrl = new URL("../lib/backend/backend.ts", import.meta.url).href;
    const childSource = `
      import * as tf from "@tensorflow/tfjs";
      import { initBackend } from "${backendUrl}";
      const info = await initBackend({ threads: 2 });
      const running = (tf.backend().wasm.PThread?.runningWorkers.length ?? 0) + 1;
      const product = tf.matMul(tf.ones([96, 96]), tf.ones([96, 96])).dataSync();
      console.log(JSON.stringify({ info, running, allCorrect: product.every((v) => v === 96) }));
    `;
    const report = await denoJSON(["eval", childSource], new URL("..", import.meta.url)) as {
      info: { backend: string; threads: number };
      running: number;
      allCorrect: boolean;
    };
    assert.equal(report.info.backend, "wasm");
    assert.equal(report.info.threads, 2);
    assert.equal(report.running, 2);
    assert.equal(report.allCorrect, true);
  });
});

Deno.test("asking for another thread count once wasm runs says a restart is needed", async () => {
  const info = await initBackend({ backend: "wasm" });
  assert.equal(info.notice, null, "no notice when nothing changes");
  const other = info.threads === 1 ? 2 : 1;
  const again = await initBackend({ backend: "wasm", threads: other });
  assert.equal(again.threads, info.threads, "the running thread count stays");
  assert.match(again.notice ?? "", new RegExp(`${other} threads? asked, ${info.threads} running`));
  assert.match(describeBackend(again), /restart the kernel/);
});
