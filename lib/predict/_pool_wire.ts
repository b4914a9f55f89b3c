/**
 * What lib/predict/pool.ts and its workers send each other: the messages, and a predictor
 * turned into plain data (each tagger's config, weights and maps) and back.
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

/** A tagger with its maps as plain data (structured-clone safe). */
export interface WireTagger {
  config: TaggerConfig;
  weights: { name: string; shape: number[]; values: Float32Array }[];
  vocab: Vocab;
  chars: CharVocab | null;
  source?: string;
}

/** A predictor as plain data. */
export interface WirePredictor {
  members: WireTagger[];
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

function wireTagger(mapped: MappedTagger): WireTagger {
  const weights = mapped.tagger.model.weights.map((w) => {
    const tensor = w.read();
    return {
      name: w.originalName,
      shape: [...tensor.shape],
      values: tensor.dataSync() as Float32Array,
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
 * A predictor as plain data: every tagger's config, weights (copied) and maps.
 *
 * @param predictor a tagger with its maps, or an ensemble
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
 * The predictor {@linkcode wirePredictor} describes, rebuilt on this thread's backend.
 *
 * @param wire the plain data
 */
export function revivePredictor(wire: WirePredictor): Predictor {
  return { members: wire.members.map(reviveTagger), caseless: wire.caseless.map(reviveTagger) };
}

/** Frees a revived predictor's taggers. */
export function disposePredictor(predictor: Predictor): void {
  const caseless = caselessOf(predictor);
  for (const member of [...membersOf(predictor), ...caseless]) member.tagger.dispose();
}
