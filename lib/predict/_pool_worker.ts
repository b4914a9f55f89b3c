/**
 * The worker of lib/predict/pool.ts: one tfjs wasm backend (one thread) and a copy of the
 * predictor, tagging the chunks of sentences it is sent with {@linkcode predictWordIds}.
 *
 * Messages in: `init` (the predictor, serialised), `predict` (a chunk). Messages out: `ready`,
 * `result` (the chunk's predictions, arrays transferred) or `error` (a message, for the chunk or
 * the start).
 *
 * @module
 */
import { initBackend } from "../backend/backend.ts";
import {
  disposePredictor,
  type PoolRequest,
  type PoolResponse,
  revivePredictor,
} from "./_pool_wire.ts";
import { predictWordIds } from "./predict.ts";
import type { Predictor } from "../model/mapped.ts";

/** The worker's global scope, as far as this file uses it. */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<PoolRequest>) => void) | null;
  postMessage(message: PoolResponse, transfer?: Transferable[]): void;
};

let predictor: Predictor | null = null;

async function handle(request: PoolRequest): Promise<void> {
  if (request.type === "init") {
    await initBackend({ backend: "wasm", threads: 1 });
    predictor = revivePredictor(request.predictor);
    scope.postMessage({ type: "ready" });
    return;
  }
  if (request.type === "close") {
    if (predictor) disposePredictor(predictor);
    predictor = null;
    scope.postMessage({ type: "closed" });
    return;
  }
  if (!predictor) throw new Error("pool worker: predict before init");
  const results = predictWordIds(predictor, request.sentences, request.options);
  const transfer: Transferable[] = [];
  for (const r of results) {
    // Each array is the sole user of its buffer (predictWordIds allocates them per sentence).
    for (const array of [r.tagIds, r.probabilities, r.firstWindowTagIds, r.distributions]) {
      if (array) transfer.push(array.buffer as ArrayBuffer);
    }
  }
  scope.postMessage({ type: "result", id: request.id, results }, transfer);
}

scope.onmessage = (event) => {
  const request = event.data;
  handle(request).catch((error) => {
    scope.postMessage({
      type: "error",
      id: request.type === "predict" ? request.id : null,
      message: error instanceof Error ? error.message : String(error),
    });
  });
};
