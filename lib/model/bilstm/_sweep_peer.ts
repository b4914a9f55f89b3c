/**
 * The peer of a training `WasmSweep` (./wasm_sweep.ts): a `node:worker_threads` worker
 * (./_sweep_worker.ts) with its own instance of the shared-memory kernels on the sweep's memory,
 * which sweeps the reverse direction while the calling thread sweeps the forward one. Jobs and
 * results pass through a small Int32 control block in that memory (Atomics.wait/notify), so
 * neither side needs the other's event loop. The worker is `unref()`ed: it keeps no process
 * alive and holds no resource a test would see.
 *
 * Registered with ./wasm_sweep.ts by lib/train/trainer.ts (training only), so that the browser
 * bundle, which has wasm_sweep.ts but not the trainer, has no worker.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import type { SweepPeer } from "./_sweep_layout.ts";

/** Int32 slots of the control block. */
export const CONTROL = {
  /** The number of the last job started (the caller counts up, then notifies). */
  seq: 0,
  /** The number of the last job finished (the worker sets it, then notifies). */
  done: 1,
  /** 0 starting, 1 ready, -1 failed to start. */
  ready: 2,
  /** Non-zero when the last job threw. */
  error: 3,
  /** The job: 1 `lstm_forward`, 2 `lstm_backward` then `transpose`. */
  op: 4,
  /** Its arguments from here on (24 slots). */
  args: 5,
} as const;

/** The index of `lstm_forward`'s one float argument (candidateScale), stored as float32. */
export const FORWARD_FLOAT_ARG = 9;

/** The longest a job may take before the peer is taken for lost. */
const JOB_TIMEOUT_MS = 120_000;

/**
 * Starts a sweep's peer in the background; it is ready once the worker has instantiated the
 * kernels (until then {@linkcode SweepPeer.ready} is false and the sweep runs alone).
 *
 * @param memory the sweep's shared memory
 * @param control byte offset of the control block
 * @returns the peer
 */
export function startSweepPeer(memory: WebAssembly.Memory, control: number): SweepPeer {
  const ctl = new Int32Array(memory.buffer, control, 64);
  const floats = new Float32Array(memory.buffer, control, 64);
  let failure: Error | null = null;
  let seq = Atomics.load(ctl, CONTROL.seq);
  const worker = new Worker(new URL("./_sweep_worker.ts", import.meta.url), {
    workerData: { memory, control },
  });
  worker.unref();
  worker.on("error", (error: Error) => {
    failure ??= new Error(`WasmSweep: its peer thread failed: ${error.message}`);
  });
  worker.on("exit", (code: number) => {
    failure ??= new Error(`WasmSweep: its peer thread exited (code ${code})`);
  });
  const check = () => {
    if (failure !== null) throw failure;
    if (Atomics.load(ctl, CONTROL.ready) === -1) {
      failure = new Error("WasmSweep: its peer thread could not instantiate the kernels");
      throw failure;
    }
  };
  const start = (op: number, args: readonly number[]) => {
    check();
    Atomics.store(ctl, CONTROL.op, op);
    args.forEach((value, i) => {
      if (op === 1 && i === FORWARD_FLOAT_ARG) floats[CONTROL.args + i] = value;
      else ctl[CONTROL.args + i] = value;
    });
    Atomics.store(ctl, CONTROL.error, 0);
    seq = (seq + 1) | 0;
    Atomics.store(ctl, CONTROL.seq, seq);
    Atomics.notify(ctl, CONTROL.seq);
  };
  return {
    ready() {
      check();
      return Atomics.load(ctl, CONTROL.ready) === 1;
    },
    forward(args) {
      start(1, args);
    },
    backward(args, transpose) {
      start(2, [...args, ...transpose]);
    },
    wait() {
      const deadline = performance.now() + JOB_TIMEOUT_MS;
      for (;;) {
        const done = Atomics.load(ctl, CONTROL.done);
        if (done === seq) break;
        if (performance.now() > deadline) {
          failure = new Error(`WasmSweep: its peer thread took over ${JOB_TIMEOUT_MS} ms`);
          throw failure;
        }
        Atomics.wait(ctl, CONTROL.done, done, 1000);
      }
      if (Atomics.load(ctl, CONTROL.error) !== 0) {
        failure = new Error("WasmSweep: a sweep on its peer thread threw");
        throw failure;
      }
    },
  };
}
