/**
 * The WebAssembly BiLSTM sweep (lib/model/bilstm/wasm_sweep.ts, issues 17 and 29): its inference
 * pass must compute what the tf-ops reference computes (lib/model/bilstm/reference.ts), for both
 * gate activations, odd unit counts (a zero-padded last weight panel), batches that are not a
 * multiple of the GEMM's 4 rows, with and without a padding mask, plain and with doubled candidate
 * blocks; its dense head what a matMul gives; and the embedded binary (lib/model/wasm/) must be
 * what build.sh makes from the C source. (Its training sweeps: tests/bilstm_test.ts.)
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { biLstmInferenceWasm, doubleCandidateBlock } from "../lib/model/bilstm/inference.ts";
import { referenceBiLstm } from "../lib/model/bilstm/reference.ts";
import { WasmSweep } from "../lib/model/bilstm/wasm_sweep.ts";
import { KERNELS_SOURCE_SHA256 } from "../lib/model/wasm/_binary.ts";

await initBackend({ backend: "wasm" });

/** A seeded uniform stream in [−scale, scale). */
function values(count: number, seed: number, scale: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state * 16807) % 2147483647;
    return (state / 2147483647 * 2 - 1) * scale;
  });
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** A `[batch, time]` post-padding mask of varied lengths (row 0 full, one row empty). */
function paddingMask(batch: number, time: number): tf.Tensor2D {
  const mask = new Float32Array(batch * time);
  for (let b = 0; b < batch; b++) {
    const length = b === 0 ? time : (b * 3) % (time + 1);
    for (let t = 0; t < length; t++) mask[b * time + t] = 1;
  }
  return tf.tensor2d(mask, [batch, time]);
}

const SHAPES = [
  { batch: 6, time: 7, units: 5 },
  { batch: 9, time: 4, units: 8 },
  { batch: 1, time: 3, units: 3 },
];

for (const shape of SHAPES) {
  for (const masked of [false, true]) {
    for (const activation of ["sigmoid", "hardSigmoid"] as const) {
      const name = `${shape.batch}×${shape.time}, ${shape.units} units, ${activation}${
        masked ? ", masked" : ""
      }`;
      Deno.test(`the WebAssembly inference sweep equals the tf-ops reference: ${name}`, () => {
        const { batch, time, units } = shape;
        const features = 3;
        const width = 4 * units;
        const x = tf.tensor3d(values(batch * time * features, 3, 2), [batch, time, features]);
        const weights = [
          tf.tensor2d(values(features * width, 5, 0.6), [features, width]),
          tf.tensor2d(values(units * width, 7, 0.6), [units, width]),
          tf.tensor1d(values(width, 9, 0.5)),
          tf.tensor2d(values(features * width, 11, 0.6), [features, width]),
          tf.tensor2d(values(units * width, 13, 0.6), [units, width]),
          tf.tensor1d(values(width, 15, 0.5)),
        ];
        const mask = masked ? paddingMask(batch, time) : null;
        const options = { batch, time, units, mask, recurrentActivation: activation };
        const sweep = new WasmSweep();
        /** Time-major projections of x through a kernel and bias. */
        const project = (kernel: tf.Tensor, bias: tf.Tensor) =>
          tf.tidy(() =>
            tf.add(
              tf.matMul(
                tf.reshape(tf.transpose(x, [1, 0, 2]), [time * batch, features]),
                kernel as tf.Tensor2D,
              ),
              bias,
            ).dataSync() as Float32Array
          );
        const fill = (k: tf.Tensor[]) => (toF: Float32Array, toB: Float32Array) => {
          toF.set(project(k[0], k[2]));
          toB.set(project(k[3], k[5]));
        };
        const want = referenceBiLstm(x, weights, {
          units,
          recurrentActivation: activation,
          mask,
          dropout: null,
        });
        const before = tf.memory().numTensors;
        const [, uF, , , uB] = weights as tf.Tensor2D[];
        const got = biLstmInferenceWasm(sweep, fill(weights), uF, uB, {
          ...options,
          candidateScale: 1,
        });
        assert.deepEqual(got.shape, [batch, time, 2 * units]);
        assert.ok(maxDifference(got.dataSync(), want.dataSync()) < 1e-5, "plain");
        assert.equal(tf.memory().numTensors, before + 1, "only the result remains");
        const largest = (want.dataSync() as Float32Array).reduce(
          (m, v) => Math.max(m, Math.abs(v)),
          0,
        );
        assert.ok(largest > 0.1, "the outputs are not trivially small");

        // Doubled candidate blocks, as the projection table gives them.
        const doubled = weights.map((w, i) => i === 1 || i === 4 ? w : doubleCandidateBlock(w));
        const [uF2, uB2] = [uF, uB].map((u) => doubleCandidateBlock(u));
        const gotDoubled = biLstmInferenceWasm(sweep, fill(doubled), uF2, uB2, {
          ...options,
          candidateScale: 0.5,
        });
        assert.ok(maxDifference(gotDoubled.dataSync(), want.dataSync()) < 1e-5, "doubled");
        if (mask !== null) {
          // A row without tokens keeps the zero state everywhere.
          const emptyRow = Array.from({ length: batch }, (_, b) => b).find((b) =>
            b > 0 && (b * 3) % (time + 1) === 0
          );
          if (emptyRow !== undefined) {
            const row = got.dataSync().subarray(
              emptyRow * time * 2 * units,
              (emptyRow + 1) * time * 2 * units,
            );
            assert.ok(row.every((v) => v === 0), "an all-padding row outputs zeros");
          }
        }
        tf.dispose([x, ...weights, want, got, ...doubled, uF2, uB2, gotDoubled]);
        mask?.dispose();
      });
    }
  }
}

Deno.test("the WebAssembly sweep grows its memory for a larger batch and keeps its answers", () => {
  const sweep = new WasmSweep();
  const run = (batch: number, time: number) => {
    const units = 16;
    const inputs = sweep.inputs({ batch, time, units, masked: false });
    inputs.zxF.set(values(inputs.zxF.length, 13, 1));
    inputs.zxB.set(values(inputs.zxB.length, 17, 1));
    const kernel = values(units * 4 * units, 19, 0.3);
    return sweep.run({ uF: kernel, uB: kernel, candidateScale: 1 }).slice(0, 2 * units);
  };
  const small = run(2, 3);
  run(512, 40); // 512·40·64 floats per direction: past the initial 256 KiB
  assert.deepEqual(run(2, 3), small);
});

Deno.test("the WebAssembly sweep names a recurrent kernel of the wrong size", () => {
  const sweep = new WasmSweep();
  sweep.inputs({ batch: 1, time: 1, units: 4, masked: false });
  assert.throws(
    () => sweep.run({ uF: new Float32Array(63), uB: new Float32Array(64), candidateScale: 1 }),
    /recurrent kernel has 63 values, not 64 \(\[4, 16\]\)/,
  );
  assert.throws(
    () =>
      new WasmSweep().run({
        uF: new Float32Array(64),
        uB: new Float32Array(64),
        candidateScale: 1,
      }),
    /call inputs\(\) first/,
  );
});

/** Whether the pinned kernel toolchain (clang-19 with lld-19's wasm-ld) is installed. */
const hasClang19 = (() => {
  try {
    return new Deno.Command("clang-19", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
/** `.ci/run` sets this: there the rebuild check must run, never be ignored. */
const toolchainRequired = Deno.env.get("BILSTM_NER_REQUIRE_WASM_TOOLCHAIN") === "1";
const WASM_FOLDER = new URL("../lib/model/wasm/", import.meta.url);

Deno.test("the embedded kernels binary records the SHA-256 of kernels.c as it is now", async () => {
  const source = await Deno.readFile(new URL("kernels.c", WASM_FOLDER));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", source));
  const hex = Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
  assert.equal(
    KERNELS_SOURCE_SHA256,
    hex,
    "lib/model/wasm/kernels.c changed since _binary.ts was built: run deno task build:wasm " +
      "(needs apt-get install -y clang-19 lld-19) and commit _binary.ts",
  );
});

Deno.test({
  name: "the embedded kernels binary is byte for byte what build.sh makes from kernels.c " +
    "(ignored where clang-19 is not installed: apt-get install -y clang-19 lld-19)",
  ignore: !hasClang19 && !toolchainRequired,
  async fn() {
    const built = await new Deno.Command("bash", {
      args: [new URL("build.sh", WASM_FOLDER).pathname, "--check"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    assert.ok(built.success, decoder.decode(built.stderr));
    assert.match(decoder.decode(built.stdout), /is what build\.sh makes from kernels\.c/);
  },
});

Deno.test("a batch too large for the WebAssembly sweep is refused by name, before any memory grows", () => {
  const sweep = new WasmSweep();
  const huge = { batch: 100_000, time: 50, units: 100, masked: true };
  assert.equal(sweep.fits(huge), false);
  assert.equal(sweep.fits({ ...huge, batch: 256 }), true);
  assert.throws(
    () => sweep.inputs(huge),
    /100000 rows × 50 steps × 100 units needs \d+ MB, over 2048 MB/,
  );
});

Deno.test("the WebAssembly sweep's dense head equals y·kernel + bias, for a width off the panels", () => {
  const [batch, time, units, width] = [5, 3, 6, 11];
  const sweep = new WasmSweep();
  const inputs = sweep.inputs({ batch, time, units, masked: false, headWidth: width });
  inputs.zxF.set(values(inputs.zxF.length, 23, 1));
  inputs.zxB.set(values(inputs.zxB.length, 29, 1));
  const kernel = values(units * 4 * units, 31, 0.4);
  const y = sweep.run({ uF: kernel, uB: kernel, candidateScale: 1 }).slice();
  const headKernel = values(2 * units * width, 37, 0.5);
  const bias = values(width, 41, 0.5);
  const scores = sweep.head(headKernel, bias);
  const want = tf.tidy(() =>
    tf.add(
      tf.matMul(
        tf.tensor2d(y, [batch * time, 2 * units]),
        tf.tensor2d(headKernel, [2 * units, width]),
      ),
      tf.tensor1d(bias),
    ).dataSync()
  );
  assert.equal(scores.length, batch * time * width);
  assert.ok(maxDifference(scores, want) < 1e-5);
  assert.throws(
    () => sweep.head(headKernel.subarray(1), bias),
    /kernel has 131 values and bias 11, not 132 \(\[12, 11\]\) and 11/,
  );
  sweep.inputs({ batch, time, units, masked: false });
  assert.throws(() => sweep.head(headKernel, bias), /call inputs\(\) with a headWidth first/);
});
