/**
 * Training's two BiLSTM directions on two threads (lib/model/bilstm/_sweep_peer.ts): a
 * WebAssembly sweep on a shared memory whose peer worker sweeps the reverse direction must give
 * bitwise what the one-thread sweep gives, forward and backward, with and without padding and
 * dropout masks, for both gate activations, and for batches under the parallel threshold (which
 * stay on the calling thread); a sweep that fails there must throw here, not hang.
 */
import assert from "node:assert/strict";
import { startSweepPeer } from "../lib/model/bilstm/_sweep_peer.ts";
import {
  PARALLEL_MIN_TOKENS,
  type SweepPeer,
  type TrainingBatch,
  WasmSweep,
} from "../lib/model/bilstm/wasm_sweep.ts";
import { instantiateSharedKernels, sharedKernelsModule } from "../lib/model/wasm/module.ts";

/** A seeded uniform stream in [−scale, scale). */
function values(count: number, seed: number, scale: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state * 16807) % 2147483647;
    return (state / 2147483647 * 2 - 1) * scale;
  });
}

/** A training batch's forward and backward results on a sweep, copied out. */
function trainStep(sweep: WasmSweep, s: TrainingBatch, seed: number): Float32Array[] {
  const { batch, time, units } = s;
  const uF = values(units * 4 * units, seed + 1, 0.5);
  const uB = values(units * 4 * units, seed + 2, 0.5);
  const zx = values(batch * time * 8 * units, seed + 3, 1);
  const dy = values(batch * time * 2 * units, seed + 4, 1);
  const { y, saved } = sweep.trainForward(s, (to) => to.set(zx), uF, uB);
  const out = [y.slice()];
  const back = sweep.trainBackward(saved, (to) => to.set(dy), uF, uB);
  for (const name of ["dzF", "dzB", "dzFT", "dzBT", "dbF", "dbB", "hdPrevF", "hdPrevB"] as const) {
    out.push(back[name].slice());
  }
  return out;
}

/** Waits (yielding to the event loop) until the sweep's peer has started. */
async function untilReady(sweep: WasmSweep): Promise<void> {
  const s: TrainingBatch = { batch: 8, time: 8, units: 4, hard: false, mask: null, dropout: null };
  const deadline = Date.now() + 30_000;
  // A step starts the peer; later steps use it once ready. Readiness shows in the timing only,
  // so wait a little after the first step.
  trainStep(sweep, s, 1);
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (sweep.peerReady) return;
  }
  throw new Error("the sweep's peer did not start in 30 s");
}

const shared = sharedKernelsModule() !== null;

Deno.test({
  name: "training's directions on two threads give bitwise the one-thread sweep's results",
  ignore: !shared,
  async fn() {
    const jobs = { forward: 0, backward: 0 };
    const counted = (memory: WebAssembly.Memory, control: number): SweepPeer => {
      const peer = startSweepPeer(memory, control);
      return {
        ready: () => peer.ready(),
        forward: (args) => (jobs.forward++, peer.forward(args)),
        backward: (args, transpose) => (jobs.backward++, peer.backward(args, transpose)),
        wait: () => peer.wait(),
      };
    };
    const parallel = new WasmSweep(undefined, { peer: counted });
    const sequential = new WasmSweep();
    assert.ok(parallel.shared);
    assert.ok(!sequential.shared);
    await untilReady(parallel);
    const shapes = [
      [1, 1, 3],
      [2, 3, 5],
      [3, 21, 7], // 63 rows × steps: under the threshold
      [4, 16, 8], // exactly the threshold
      [5, 13, 9],
      [16, 12, 24],
      [33, 7, 17],
    ] as const;
    assert.equal(PARALLEL_MIN_TOKENS, 64);
    const before = { ...jobs };
    let seed = 100;
    for (const [batch, time, units] of shapes) {
      for (const hard of [false, true]) {
        for (const masked of [false, true]) {
          seed += 10;
          const mask = masked
            ? Float32Array.from(
              { length: batch * time },
              (_, i) => (i % time) < time - (i % 3) ? 1 : 0,
            )
            : null;
          const dropout = masked
            ? [0, 1].map((d) =>
              Float32Array.from(values(batch * units, seed + 7 + d, 1), (v) => v > -0.3 ? 1.25 : 0)
            ) as [Float32Array, Float32Array]
            : null;
          const s: TrainingBatch = { batch, time, units, hard, mask, dropout };
          const started = jobs.forward;
          const got = trainStep(parallel, s, seed);
          const want = trainStep(sequential, s, seed);
          // Batches under the threshold stay on the calling thread; the others use the peer.
          assert.equal(jobs.forward - started, batch * time >= PARALLEL_MIN_TOKENS ? 1 : 0);
          got.forEach((values, i) =>
            assert.deepEqual(
              new Uint32Array(values.buffer.slice(0)),
              new Uint32Array(want[i].buffer.slice(0)),
              `${batch}×${time}×${units} hard=${hard} masked=${masked}: output ${i} differs`,
            )
          );
        }
      }
    }
    assert.equal(jobs.forward - before.forward, 16);
    assert.equal(jobs.backward - before.backward, 16);
  },
});

Deno.test({
  name: "a sweep that fails on the peer thread throws on the calling thread, and so does the next",
  ignore: !shared,
  async fn() {
    const { memory, heapBase } = instantiateSharedKernels(sharedKernelsModule()!);
    const peer = startSweepPeer(memory, heapBase);
    const deadline = Date.now() + 30_000;
    while (!peer.ready()) {
      assert.ok(Date.now() < deadline, "the peer did not start in 30 s");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Pointers past the end of the memory: the kernel traps in the worker.
    const far = 2 ** 30;
    const args = [4, 4, 4, far, 2, 8, far, 0, 1, 1, 0, 0, far, far, far, far, far, 4];
    peer.forward([...args, far, far, far, far, far, far]);
    assert.throws(() => peer.wait(), /a sweep on its peer thread threw/);
    assert.throws(() => peer.forward(args), /a sweep on its peer thread threw/);
  },
});
