/**
 * Starting a tagger's word embedding from pretrained vectors (lib/data/embeddings.ts): the
 * vocabulary is the training words plus the vectors' other frequent words, and each word with a
 * vector gets it as its embedding row (its own, else its lowercased word's); the others keep
 * their random rows. The model folder then holds those rows, so nothing else is needed to tag.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Sentence } from "../data/corpus.ts";
import { readWordVectors, vectorFor, type WordVectors } from "../data/embeddings.ts";
import { type Vocab, withExtraWords } from "../data/vocab.ts";
import { ConfigError } from "../errors.ts";
import type { Tagger } from "../model/tagger.ts";
import type { ResolvedTrainConfig, TrainConfig } from "./config.ts";
import { trainingVocab } from "./data.ts";
import type { ProgressSink } from "./progress.ts";

/** What {@linkcode loadWordVectorsFor} gives a training. */
export interface VectorsForTraining {
  /** The vectors kept. */
  vectors: WordVectors;
  /** The training vocabulary with the vectors' extra words appended. */
  vocab: Vocab;
  /** The settings with `model.embeddingDim` set to the vectors' width. */
  config: ResolvedTrainConfig;
}

/**
 * Reads the vectors a training's `embeddings` setting names, for its training vocabulary.
 *
 * @param trainSentences the training sentences
 * @param config resolved settings (with `embeddings`)
 * @param given the settings as given (an `embeddingDim` given must be the vectors' width)
 * @param dev validation sentences of their own, if any
 * @param sink where to report what was found
 * @throws {CorpusError} naming the file and line of a malformed vectors file
 * @throws {ConfigError} naming `model.embeddingDim` when it was given and differs
 */
export async function loadWordVectorsFor(
  trainSentences: readonly Sentence[],
  config: ResolvedTrainConfig,
  given: TrainConfig | undefined,
  dev: readonly Sentence[] | null | undefined,
  sink: ProgressSink,
): Promise<VectorsForTraining> {
  const embeddings = config.embeddings!;
  const base = trainingVocab(trainSentences, config, dev);
  sink(`reading word vectors from ${embeddings.file}\n`);
  const started = performance.now();
  const vectors = await readWordVectors(embeddings.file, {
    vocabulary: base.words.slice(2),
    extraWords: embeddings.extraWords,
    lowercase: config.lowercase,
  });
  const wanted = given?.model?.embeddingDim;
  if (wanted !== undefined && wanted !== vectors.dimension) {
    throw new ConfigError(
      "model.embeddingDim",
      `must be the width of the vectors in ${embeddings.file} (${vectors.dimension}); leave ` +
        "it out (--embedding-dim) to take the vectors' width",
      wanted,
    );
  }
  const vocab = withExtraWords(base, vectors.extra);
  const trainingWords = base.words.length - 2;
  let found = 0;
  for (const word of base.words.slice(2)) if (vectorFor(vectors, word)) found++;
  sink(
    `word vectors: ${vectors.dimension} dimensions; ${found} of ${trainingWords} training words ` +
      `found (${vectors.lowercased.size} by their lowercase); ${vectors.extra.length} other ` +
      `words added; ${vectors.vectorsRead} vectors read in ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s; the embedding is ` +
      `${vocab.words.length} rows × ${vectors.dimension} = ` +
      `${(vocab.words.length * vectors.dimension * 4 / 1e6).toFixed(1)} MB of the model folder ` +
      "(half with export --float16)\n",
  );
  return {
    vectors,
    vocab,
    config: { ...config, model: { ...config.model, embeddingDim: vectors.dimension } },
  };
}

/**
 * Writes the vectors into a tagger's word embedding: each word of `vocab` with a vector gets it.
 *
 * @param tagger the new tagger (built for `vocab`, `embeddingDim` the vectors' width)
 * @param vocab its maps
 * @param vectors the vectors
 * @returns how many rows were set
 */
export function applyWordVectors(tagger: Tagger, vocab: Vocab, vectors: WordVectors): number {
  const table = tagger.parts.wordEmbedding;
  const dimension = vectors.dimension;
  if (table.shape[1] !== dimension || table.shape[0] !== vocab.words.length) {
    throw new Error(
      `the word embedding is [${table.shape}], the vectors need [${vocab.words.length}, ` +
        `${dimension}]`,
    );
  }
  const values = Float32Array.from(table.dataSync() as Float32Array);
  let set = 0;
  const extra = new Map(vectors.extra.map((word, index) => [word, vectors.extraVectors[index]]));
  for (let id = 2; id < vocab.words.length; id++) {
    const word = vocab.words[id];
    const vector = vectorFor(vectors, word) ?? extra.get(word);
    if (vector) {
      values.set(vector, id * dimension);
      set++;
    }
  }
  const update = tf.tensor2d(values, [vocab.words.length, dimension]);
  table.assign(update);
  update.dispose();
  tagger.weightsChanged();
  return set;
}
