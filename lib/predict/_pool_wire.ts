/**
 * What lib/predict/pool.ts and its workers send each other: the messages, and a predictor
 * turned into plain data (each tagger's config, weights and maps) and back.
 *
 * The weights travel in shared memory (`SharedArrayBuffer`): the pool's thread copies each
 * weight once, and every worker it starts (a replacement too) reads that one copy into its own
 * tfjs backend, instead of receiving a copy of its own in the message (two copies per worker,
 * the message's and the clone's: about 120 MB per worker with the default model).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { CharVocab } from "../data/chars.ts";
import type { Vocab } from "../data/vocab.ts";
import { caselessOf, type MappedTagger, membersOf, type Predictor } from "../model/mapped.ts";
import { Tagger } from "../model/tagger.ts";
import type { TaggerConfig } from "../model/config.ts";
import type { PredictOptions, SequencePrediction } from "./predict.ts";

/**
 * The cap of each tagger's projection table in a pool worker (lib/model/_projection_cache.ts):
 * 32 MiB, about 5,200 distinct tokens of a 200-unit tagger. A pool holds one table per tagger per
 * worker, where the calling thread holds one per tagger (64 MiB each by default). Measured on
 * 20,000 corpus sentences with the default model and two workers: 16 MiB peaked at 1,026-1,069 MB
 * at 24,400-24,700 tokens/s, 32 MiB at 1,137-1,159 MB and 24,600-26,000, 64 MiB at 1,327-1,338
 * MB and 26,500-27,000.
 */
export const WORKER_TABLE_BYTES = 32 * 2 ** 20;

/** A tagger with its maps as plain data (structured-clone safe). */
export interface WireTagger {
  /** Its resolved config. */
  config: TaggerConfig;
  /**
   * Its weights in the model's order; `values` lie in a `SharedArrayBuffer`, so posting the
   * tagger to a worker shares them rather than copying them.
   */
  weights: { name: string; shape: number[]; values: Float32Array }[];
  /** Its word and tag maps. */
  vocab: Vocab;
  /** Its character map, or null. */
  chars: CharVocab | null;
  /** Where it came from, for messages. */
  source?: string;
}

/** A predictor as plain data. */
export interface WirePredictor {
  /** The taggers of cased sentences (or of every sentence). */
  members: WireTagger[];
  /** The taggers of caseless sentences; often none. */
  caseless: WireTagger[];
}

/** The options a chunk is tagged with (no callbacks: they stay in the caller). */
export type WireOptions = Pick<PredictOptions, "batchSize" | "words" | "distributions">;

/** Messages to a worker. */
export type PoolRequest =
  | { type: "init"; predictor: WirePredictor }
  | { type: "predict"; id: number; sentences: Int32Array[]; options: WireOptions }
  | { type: "close" };

/** Messages from a worker. */
export type PoolResponse =
  | { type: "ready" }
  | { type: "closed" }
  | { type: "result"; id: number; results: SequencePrediction[] }
  | { type: "error"; id: number | null; message: string };

/** A copy of `values` in shared memory. */
function sharedCopy(values: Float32Array): Float32Array {
  const shared = new Float32Array(new SharedArrayBuffer(values.byteLength));
  shared.set(values);
  return shared;
}

function wireTagger(mapped: MappedTagger): WireTagger {
  const weights = mapped.tagger.model.weights.map((w) => {
    const tensor = w.read();
    return {
      name: w.originalName,
      shape: [...tensor.shape],
      values: sharedCopy(tensor.dataSync() as Float32Array),
    };
  });
  return {
    config: mapped.tagger.config,
    weights,
    vocab: mapped.vocab,
    chars: mapped.chars,
    ...(mapped.source ? { source: mapped.source } : {}),
  };
}

/**
 * A predictor as plain data: every tagger's config, weights (copied once, into shared memory)
 * and maps.
 *
 * @param predictor a tagger with its maps, or an ensemble
 * @returns the data to post to workers (the weights are shared, not copied, by each post)
 */
export function wirePredictor(predictor: Predictor): WirePredictor {
  const caseless = caselessOf(predictor);
  return { members: membersOf(predictor).map(wireTagger), caseless: caseless.map(wireTagger) };
}

function reviveTagger(wire: WireTagger): MappedTagger {
  const tagger = new Tagger(wire.config, "zeros");
  const tensors = wire.weights.map((w) => ({ name: w.name, tensor: tf.tensor(w.values, w.shape) }));
  try {
    tagger.setWeights(tensors, wire.source ?? "pool");
  } finally {
    tf.dispose(tensors.map((t) => t.tensor));
  }
  return {
    tagger,
    vocab: wire.vocab,
    chars: wire.chars,
    ...(wire.source ? { source: wire.source } : {}),
  };
}

/**
 * The taggers {@linkcode wirePredictor} described, rebuilt on this thread's backend (their
 * weights copied from shared memory into it).
 *
 * @param wire the taggers as plain data (a `WirePredictor`'s `members` or `caseless`)
 * @returns the taggers with their maps; dispose their taggers when done
 */
export function reviveTaggers(wire: readonly WireTagger[]): MappedTagger[] {
  const revived: MappedTagger[] = [];
  try {
    for (const tagger of wire) revived.push(reviveTagger(tagger));
  } catch (error) {
    for (const done of revived) done.tagger.dispose();
    throw error;
  }
  return revived;
}
