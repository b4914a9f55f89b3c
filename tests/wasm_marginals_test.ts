/**
 * The CRF marginals in WebAssembly (lib/model/crf/wasm_marginals.ts, issue 17) against the
 * float64 JavaScript forward–backward (lib/model/crf/marginals.ts): the same per-token
 * distributions, with and without a padding label, for tag counts on and off the SIMD width, for
 * one token and for long sequences with large scores.
 */
import assert from "node:assert/strict";
import { crfMarginals } from "../lib/model/crf/marginals.ts";
import { CrfMarginalsKernel } from "../lib/model/crf/wasm_marginals.ts";
import { crfDecoder } from "../lib/predict/decoders.ts";

function values(count: number, seed: number, scale: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state * 16807) % 2147483647;
    return (state / 2147483647 * 2 - 1) * scale;
  });
}

for (const K of [3, 4, 18]) {
  for (const paddingTagId of [0, null]) {
    Deno.test(`CRF marginals in WebAssembly equal the JavaScript ones: ${K} tags, padding ${paddingTagId}`, () => {
      const params = {
        transitions: values(K * K, 3 + K, 3),
        start: values(K, 5 + K, 2),
        end: values(K, 7 + K, 2),
      };
      const kernel = CrfMarginalsKernel.create(params, K, paddingTagId);
      assert.ok(kernel !== null, "this runtime has WebAssembly SIMD");
      for (const [length, scale] of [[1, 4], [7, 4], [60, 25]]) {
        const offset = 2 * K;
        const emissions = values(offset + length * K, 11 * length + K, scale);
        const want = crfMarginals(emissions, length, params, K, paddingTagId, offset);
        const got: Float32Array = kernel.marginals(emissions, length, offset)!;
        assert.equal(got.length, length * K);
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
        assert.ok(worst < 2e-5, `length ${length}: differs by ${worst}`);
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

Deno.test("CRF marginals that underflow float32 come from the float64 JavaScript instead", () => {
  // Tag 1 then tag 2 is all the emissions allow, and the transition 1 → 2 scores 200 below the
  // others: every path of step 2 is below float32's range, not float64's.
  const params = {
    transitions: Float32Array.from([0, 0, 0, 0, 0, -200, 0, 0, 0]),
    start: new Float32Array(3),
    end: new Float32Array(3),
  };
  const emissions = Float32Array.from([-300, 0, -300, -300, -300, 0]);
  const kernel = CrfMarginalsKernel.create(params, 3, null)!;
  assert.equal(kernel.marginals(emissions, 2), null);
  const want = crfMarginals(emissions, 2, params, 3, null);
  assert.ok(want.every(Number.isFinite));
  const decoded = crfDecoder(params, null)(emissions, 2, 3);
  assert.deepEqual(decoded.distributions, want);
  assert.deepEqual(Array.from(decoded.tagIds), [1, 2]);
});
