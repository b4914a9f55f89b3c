/**
 * The worker of ./_sweep_peer.ts: instantiates the shared-memory kernels on the memory it is
 * given, then runs the jobs posted in the control block until the process ends.
 *
 * @module
 */
import { workerData } from "node:worker_threads";
import { instantiateSharedKernels, sharedKernelsModule } from "../wasm/module.ts";
import { CONTROL, FORWARD_FLOAT_ARG } from "./_sweep_peer.ts";

type Kernel = (...args: number[]) => void;

const { memory, control } = workerData as { memory: WebAssembly.Memory; control: number };
const ctl = new Int32Array(memory.buffer, control, 64);
const floats = new Float32Array(memory.buffer, control, 64);
let forward: Kernel;
let backward: Kernel;
let transpose: Kernel;
try {
  const module = sharedKernelsModule();
  if (module === null) throw new Error("no shared-memory kernels here");
  const { exports } = instantiateSharedKernels(module, memory);
  forward = exports.lstm_forward as Kernel;
  backward = exports.lstm_backward as Kernel;
  transpose = exports.transpose as Kernel;
} catch (error) {
  Atomics.store(ctl, CONTROL.ready, -1);
  throw error;
}
Atomics.store(ctl, CONTROL.ready, 1);
let seen = Atomics.load(ctl, CONTROL.seq);
for (;;) {
  Atomics.wait(ctl, CONTROL.seq, seen);
  const seq = Atomics.load(ctl, CONTROL.seq);
  if (seq === seen) continue;
  seen = seq;
  try {
    const args = Array.from(ctl.subarray(CONTROL.args, CONTROL.args + 24));
    if (Atomics.load(ctl, CONTROL.op) === 1) {
      args[FORWARD_FLOAT_ARG] = floats[CONTROL.args + FORWARD_FLOAT_ARG];
      forward(...args);
    } else {
      backward(...args.slice(0, 20));
      transpose(...args.slice(20, 24));
    }
  } catch {
    Atomics.store(ctl, CONTROL.error, 1);
  }
  Atomics.store(ctl, CONTROL.done, seq);
  Atomics.notify(ctl, CONTROL.done);
}
