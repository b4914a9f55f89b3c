/**
 * How the prediction pool cuts its input (lib/predict/pool.ts `planChunks`): every sentence once,
 * longest first, chunks capped, and each worker's first chunk holding an equal share of the tokens
 * (cutting equal shares of the sentences gave the worker with the long ones twice the work).
 */
import assert from "node:assert/strict";
import { MAX_CHUNK_SENTENCES, planChunks } from "../lib/predict/pool.ts";

const tokensOf = (chunk: number[], lengths: number[]) => chunk.reduce((n, i) => n + lengths[i], 0);

Deno.test("pool chunks: every sentence once, longest first, equal token shares per worker", () => {
  // Skewed like real text: many short sentences, fewer long ones.
  const lengths = Array.from(
    { length: 2048 },
    (_, i) => 1 + Math.floor(((i * 7919) % 997) ** 2 / 20_000),
  );
  for (const workers of [2, 3, 4]) {
    const chunks = planChunks(lengths, workers);
    assert.equal(chunks.length, workers);
    const seen = chunks.flat().sort((a, b) => a - b);
    assert.deepEqual(seen, lengths.map((_, i) => i));
    const flat = chunks.flat();
    for (let k = 1; k < flat.length; k++) {
      assert.ok(lengths[flat[k - 1]] >= lengths[flat[k]], "sorted longest first");
    }
    const shares = chunks.map((chunk) => tokensOf(chunk, lengths));
    assert.ok(Math.max(...shares) / Math.min(...shares) < 1.05, `shares ${shares}`);
    const sizes = chunks.map((chunk) => chunk.length);
    assert.ok(sizes[0] < sizes[workers - 1], "the long sentences' chunk has fewer of them");
  }
});

Deno.test("pool chunks: a long input is cut into chunks of at most MAX_CHUNK_SENTENCES", () => {
  const lengths = Array.from({ length: 3 * MAX_CHUNK_SENTENCES + 5 }, (_, i) => 1 + (i % 40));
  const chunks = planChunks(lengths, 2);
  assert.ok(chunks.length >= 4);
  assert.ok(chunks.every((chunk) => chunk.length >= 1 && chunk.length <= MAX_CHUNK_SENTENCES));
  assert.equal(chunks.flat().length, lengths.length);
  assert.deepEqual(planChunks([], 2), []);
  assert.deepEqual(planChunks([0, 5], 4), [[1], [0]]);
});
