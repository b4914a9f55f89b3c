/**
 * The worker of lib/predict/pool.ts: one tfjs wasm backend (one thread) and a copy of the
 * predictor, tagging the chunks of sentences it is sent with {@linkcode predictWordIds}.
 *
 * Messages in: `init` (the predictor, serialised; its weights in shared memory), `predict` (a
 * chunk). Messages out: `ready`, `result` (the chunk's predictions, arrays transferred) or
 * `error` (a message, for the chunk or the start).
 *
 * Memory: the worker rebuilds the `members` at `init`, but an ensemble's `caseless` members only
 * for the first chunk that holds a caseless sentence (most input has none: the default model's
 * two caseless members are half its weights), and it caps each tagger's projection table at
 * {@linkcode WORKER_TABLE_BYTES} (a pool holds one table per tagger per worker).
 *
 * @module
 */
import { initBackend } from "../backend/backend.ts";
import { isCaseless } from "../data/recase.ts";
import { setMaxTableBytes } from "../model/_projection_cache.ts";
import type { MappedTagger, Predictor } from "../model/mapped.ts";
import {
  type PoolRequest,
  type PoolResponse,
  reviveTaggers,
  type WireOptions,
  type WirePredictor,
  WORKER_TABLE_BYTES,
} from "./_pool_wire.ts";
import { predictWordIds } from "./predict.ts";

/** The worker's global scope, as far as this file uses it. */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<PoolRequest>) => void) | null;
  postMessage(message: PoolResponse, transfer?: Transferable[]): void;
};

/** The predictor as sent (its weights shared with the pool's thread, so keeping it is free). */
let wire: WirePredictor | null = null;
/** The members, rebuilt at `init`. */
let members: MappedTagger[] | null = null;
/** The caseless members, rebuilt on the first chunk that needs them. */
let caseless: MappedTagger[] | null = null;

/** The predictor a chunk needs: the caseless members only when one of its sentences is caseless. */
function predictorFor(options: WireOptions): Predictor {
  if (wire === null || members === null) throw new Error("pool worker: predict before init");
  const needsCaseless = wire.caseless.length > 0 &&
    (options.words?.some((sentence) => isCaseless(sentence)) ?? false);
  if (!needsCaseless) return { members };
  caseless ??= reviveTaggers(wire.caseless);
  return { members, caseless };
}

/** Frees the taggers rebuilt so far. */
function dispose(): void {
  for (const member of [...(members ?? []), ...(caseless ?? [])]) member.tagger.dispose();
  members = caseless = null;
  wire = null;
}

async function handle(request: PoolRequest): Promise<void> {
  if (request.type === "init") {
    await initBackend({ backend: "wasm", threads: 1 });
    setMaxTableBytes(WORKER_TABLE_BYTES);
    dispose();
    members = reviveTaggers(request.predictor.members);
    wire = request.predictor;
    scope.postMessage({ type: "ready" });
    return;
  }
  if (request.type === "close") {
    dispose();
    scope.postMessage({ type: "closed" });
    return;
  }
  const predictor = predictorFor(request.options);
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
