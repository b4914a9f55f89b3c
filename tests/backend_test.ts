/**
 * Behaviour of `lib/backend/backend.ts`: the wasm backend starts, the added `UnsortedSegmentSum` kernel
 * matches tfjs's cpu reference, an Embedding + BiLSTM training step runs on wasm without missing
 * kernels and leaves absent embedding rows untouched, the reported thread count is the
 * number of threads really running, and the threaded loader neither writes nor loads files in
 * the shared temporary directory (it needs read access to the project only).
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

/** The project root, where the children run (its deno.json maps the npm imports). */
const PROJECT_ROOT = new URL("..", import.meta.url);

/**
 * The folder the former loader used for its generated JavaScript under the shared temporary
 * directory (tfjs 4.22.0): predictable, created with the default mode and never checked.
 */
const FORMER_CACHE_FOLDER = "bilstm-ner-tfjs-wasm-threads-e60b490b4cd78207";

/** Plants, at the former loader's paths under `tmp`, files that leave `marker` when loaded. */
async function plantFormerLoaderFiles(tmp: string, marker: string): Promise<Map<string, string>> {
  const folder = `${tmp}/${FORMER_CACHE_FOLDER}`;
  await Deno.mkdir(folder);
  const planted = new Map([
    [
      `${folder}/tfjs-backend-wasm-threaded-simd.cjs`,
      `require("fs").writeFileSync(${JSON.stringify(marker)}, "script");\n` +
      `throw new Error("planted script loaded");\n`,
    ],
    [
      `${folder}/pthread-worker.mjs`,
      `Deno.writeTextFileSync(${JSON.stringify(marker)}, "worker");\n` +
      `throw new Error("planted worker loaded");\n`,
    ],
  ]);
  for (const [path, text] of planted) await Deno.writeTextFile(path, text);
  return planted;
}

/** Every path under `dir`, sorted. */
async function listTree(dir: string): Promise<string[]> {
  const paths: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    paths.push(path);
    if (entry.isDirectory) paths.push(...await listTree(path));
  }
  return paths.sort();
}

/** Runs `deno run FLAGS -` with `source` on stdin in the project root, TMPDIR set to `tmp`. */
async function runChild(flags: string[], source: string, tmp: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "-"],
    cwd: PROJECT_ROOT,
    env: { TMPDIR: tmp, NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(source));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  return {
    code,
    stdout: new TextDecoder().decode(stdout),
    stderr: new TextDecoder().decode(stderr),
  };
}

Deno.test("the threaded loader writes and loads no file in the temporary directory", async (t) => {
  const backendUrl = new URL("../lib/backend/backend.ts", import.meta.url).href;
  const childSource = `
    import * as tf from "@tensorflow/tfjs";
    import { initBackend } from "${backendUrl}";
    const info = await initBackend({ threads: 2 });
    const running = (tf.backend().wasm.PThread?.runningWorkers.length ?? 0) + 1;
    const product = tf.matMul(tf.ones([96, 96]), tf.ones([96, 96])).dataSync();
    console.log(JSON.stringify({ info, running, allCorrect: product.every((v) => v === 96) }));
  `;
  const projectRoot = decodeURIComponent(PROJECT_ROOT.pathname).replace(/\/$/, "");
  const cases: [string, string[]][] = [
    // Read access to the project only: no write anywhere, no temporary folder, no env or sys.
    ["read access to the project only", [`--allow-read=${projectRoot}`, "--deny-net"]],
    // Every permission: planted files at the former predictable path stay untouched, unloaded.
    ["every permission", ["--allow-all"]],
  ];
  for (const [name, flags] of cases) {
    await t.step(name, async () => {
      const tmp = await Deno.makeTempDir({ prefix: "threaded-loader-test-" });
      try {
        const marker = `${tmp}/planted-code-ran`;
        const planted = await plantFormerLoaderFiles(tmp, marker);
        const before = await listTree(tmp);
        const { code, stdout, stderr } = await runChild(flags, childSource, tmp);
        assert.equal(code, 0, stderr.slice(-3000));
        assert.doesNotMatch(stderr, /threaded wasm failed|NotCapable|PermissionDenied/);
        const report = JSON.parse(stdout) as {
          info: { backend: string; threads: number };
          running: number;
          allCorrect: boolean;
        };
        assert.equal(report.info.backend, "wasm");
        assert.equal(report.info.threads, 2, "the threaded binary started");
        assert.equal(report.running, 2);
        assert.equal(report.allCorrect, true);
        assert.deepEqual(await listTree(tmp), before, "nothing created in the temporary folder");
        for (const [path, text] of planted) {
          assert.ok(await Deno.readTextFile(path) === text, `${path} left as planted`);
        }
      } finally {
        await Deno.remove(tmp, { recursive: true });
      }
    });
  }
});

Deno.test("a pthread worker refuses to load any script but the one it carries", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "threaded-loader-test-" });
  try {
    const marker = `${tmp}/planted-code-ran`;
    const plantedScript = `${tmp}/planted.cjs`;
    await Deno.writeTextFile(
      plantedScript,
      `require("fs").writeFileSync(${JSON.stringify(marker)}, "script");\n`,
    );
    const loaderUrl = new URL("../lib/backend/threaded_wasm.ts", import.meta.url).href;
    // What Emscripten's main thread sends a new pthread worker, here naming another script; the
    // child (every permission) prints the worker's error.
    const childSource = `
      import { Worker } from "node:worker_threads";
      import { prepareThreadedSources } from "${loaderUrl}";
      const { workerUrl, binaryPath } = prepareThreadedSources();
      const worker = new Worker(new URL(workerUrl), { env: {} });
      let timer;
      const outcome = await new Promise((resolve) => {
        worker.on("error", (error) => resolve({ error: String(error?.message ?? error) }));
        worker.on("message", (message) => resolve({ message }));
        timer = setTimeout(() => resolve({ timeout: true }), 20000);
        worker.postMessage({
          cmd: "load",
          handlers: [],
          urlOrBlob: ${JSON.stringify(plantedScript)},
          wasmMemory: new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }),
          wasmModule: undefined,
        });
      });
      clearTimeout(timer);
      await worker.terminate();
      console.log(JSON.stringify({ workerUrl: workerUrl.slice(0, 40), binaryPath, outcome }));
    `;
    const { code, stdout, stderr } = await runChild(["--allow-all"], childSource, tmp);
    assert.equal(code, 0, stderr.slice(-3000));
    const report = JSON.parse(stdout) as {
      workerUrl: string;
      binaryPath: string;
      outcome: { error?: string };
    };
    assert.match(report.workerUrl, /^data:text\/javascript;base64,/, "the worker is no file");
    assert.match(report.binaryPath, /\/node_modules\/.*\.wasm$/, "the binary is the package's");
    assert.match(
      report.outcome.error ?? JSON.stringify(report.outcome),
      /threaded wasm worker: refusing to load .*planted\.cjs/,
    );
    await assert.rejects(Deno.stat(marker), Deno.errors.NotFound, "the planted script never ran");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
