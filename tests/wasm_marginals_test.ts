/**
 * The CRF marginals in WebAssembly (lib/model/crf/wasm_forward_backward.ts, the forward–backward
 * the loss runs too) against the tf-ops reference (the gradient of the log-partition,
 * `referenceMarginals` in lib/model/crf/loss.ts): the same per-token distributions, with and
 * without a padding label, for tag counts on and off the SIMD width, for one token and for long
 * sequences with large scores; and the reference where float32 underflows.
 */
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { referenceMarginals } from "../lib/model/crf/loss.ts";
import { crfMarginals } from "../lib/model/crf/marginals.ts";
import { CrfKernel } from "../lib/model/crf/wasm_forward_backward.ts";
import { crfDecoder } from "../lib/predict/decoders.ts";

await initBackend({ backend: "wasm" });

function values(count: number, seed: number, scale: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state * 16807) % 2147483647;
    return (state / 2147483647 * 2 - 1) * scale;
  });
}

for (const K of [3, 4, 18]) {
  for (const paddingTagId of [0, null]) {
    Deno.test(`CRF marginals in WebAssembly equal the tf-ops reference: ${K} tags, padding ${paddingTagId}`, () => {
      const params = {
        transitions: values(K * K, 3 + K, 3),
        start: values(K, 5 + K, 2),
        end: values(K, 7 + K, 2),
      };
      const kernel = CrfKernel.create(params, K, paddingTagId);
      assert.ok(kernel !== null, "this runtime has WebAssembly SIMD");
      for (const [length, scale] of [[1, 4], [7, 4], [60, 25]]) {
        const offset = 2 * K;
        const emissions = values(offset + length * K, 11 * length + K, scale);
        const want = referenceMarginals(emissions, length, params, K, paddingTagId, offset);
        const got: Float32Array = kernel.marginals(emissions, length, offset)!;
        assert.equal(got.length, length * K);
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
        // The float32 tf-ops reference has its own rounding (~3e-5 at length 60, scale 25).
        assert.ok(worst < 1e-4, `length ${length}: differs by ${worst}`);
        for (let t = 0; t < length; t++) {
          const row = got.subarray(t * K, (t + 1) * K);
          assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, "rows sum to 1");
          if (paddingTagId !== null) assert.ok(row[paddingTagId] < 1e-6, "padding gets ~0");
        }
      }
      assert.deepEqual(kernel.marginals(new Float32Array(0), 0), new Float32Array(0));
    });
  }
}

Deno.test("CRF marginals that underflow float32 come from the tf-ops reference instead", () => {
  // Tag 1 then tag 2 is all the emissions allow, and the transition 1 → 2 scores 200 below the
  // others: every path of step 2 is below float32's range, not float64's.
  const params = {
    transitions: Float32Array.from([0, 0, 0, 0, 0, -200, 0, 0, 0]),
    start: new Float32Array(3),
    end: new Float32Array(3),
  };
  const emissions = Float32Array.from([-300, 0, -300, -300, -300, 0]);
  const kernel = CrfKernel.create(params, 3, null)!;
  assert.equal(kernel.marginals(emissions, 2), null);
  const want = crfMarginals(emissions, 2, params, 3, null);
  assert.ok(want.every(Number.isFinite));
  assert.deepEqual(want, referenceMarginals(emissions, 2, params, 3, null));
  assert.ok(Math.abs(want[1] - 1) < 1e-6 && Math.abs(want[5] - 1) < 1e-6, "tag 1, then tag 2");
  const decoded = crfDecoder(params, null)(emissions, 2, 3);
  assert.deepEqual(decoded.distributions, want);
  assert.deepEqual(Array.from(decoded.tagIds), [1, 2]);
});
