/**
 * Building a tagger from a model folder's files, read through a {@linkcode ModelFileSource}:
 * `config.json` (migrated to the current version), `vocab.json`, `chars.json` when the tagger
 * has char features, and the stored graph and weights, all checked against one another. Pure
 * (no `Deno.*`): the Deno loader (lib/io/model_folder.ts) and the browser's (lib/web/load.ts)
 * both build their taggers here.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type CharVocab, charVocabFromJSON } from "../data/chars.ts";
import { type Vocab, vocabFromJSON } from "../data/vocab.ts";
import type { MappedTagger } from "../model/mapped.ts";
import type { TaggerConfig } from "../model/config.ts";
import { Tagger } from "../model/tagger.ts";
import { loadModelArtifacts } from "./_artifacts.ts";
import { migrateConfig } from "./_migrate.ts";
import { checkSameTopology } from "./_topology.ts";
import type { ModelFolderConfig } from "./folder_config.ts";
import type { ModelFileSource } from "./model_source.ts";

/** A tagger loaded from a model folder. */
export interface LoadedTagger extends MappedTagger {
  /** The folder the files were read from (a run's checkpoint folder for a run). */
  readonly directory: string;
  /** Its `config.json` (migrated to the current version). */
  readonly config: ModelFolderConfig;
  /** Its character map (char features), else null. */
  readonly chars: CharVocab | null;
}

/**
 * Builds the tagger of one model folder (not an ensemble, not a run folder) from its files.
 *
 * @param source the folder's files
 * @returns the tagger, its maps and its config
 * @throws {Error} naming the folder or file when files are missing, corrupt or mismatched
 */
export async function loadTaggerFrom(source: ModelFileSource): Promise<LoadedTagger> {
  const directory = source.directory;
  const configPath = `${directory}/config.json`;
  const stored = await source.readJSON("config.json", "model config");
  const vocab = vocabFromJSON(
    await source.readJSON("vocab.json", "vocabulary"),
    `${directory}/vocab.json`,
  );
  const chars = await readCharsIfAny(source, stored);
  const config = migrateConfig(stored, { vocab, chars, path: configPath });
  checkMapsFitConfig(config.tagger, vocab, chars, directory);
  const tagger = new Tagger(config.tagger, "zeros");
  try {
    await assignStoredWeights(tagger, source);
  } catch (error) {
    tagger.dispose();
    throw error;
  }
  return { tagger, vocab, chars, config, directory, source: directory };
}

/** Reads `chars.json` when the stored config says the tagger has char features. */
async function readCharsIfAny(source: ModelFileSource, stored: unknown): Promise<CharVocab | null> {
  const record = stored as {
    tagger?: { charFeatures?: unknown };
    model?: { charFeatures?: unknown };
  };
  const charFeatures = record?.tagger?.charFeatures ?? record?.model?.charFeatures;
  if (charFeatures !== true) return null;
  return charVocabFromJSON(
    await source.readJSON("chars.json", "character map"),
    `${source.directory}/chars.json`,
  );
}

/** Reads the folder's weights and assigns them to the tagger built from its config. */
async function assignStoredWeights(tagger: Tagger, source: ModelFileSource): Promise<void> {
  const directory = source.directory;
  const artifacts = await loadModelArtifacts(source);
  checkSameTopology(artifacts.modelTopology, tagger.model.toJSON(null, false), directory);
  const specs = artifacts.weightSpecs ?? [];
  let named: tf.NamedTensorMap;
  try {
    named = tf.io.decodeWeights(artifacts.weightData!, specs);
  } catch (error) {
    throw new Error(`${directory}: cannot decode the weights (${(error as Error).message})`);
  }
  try {
    tagger.setWeights(
      specs.map((spec) => ({ name: spec.name, tensor: named[spec.name] })),
      directory,
    );
  } finally {
    tf.dispose(Object.values(named));
  }
}

/**
 * Checks that maps fit a tagger config: as many words, tags and characters as it has rows.
 *
 * @throws {Error} naming the folder and the map that does not fit
 */
export function checkMapsFitConfig(
  config: TaggerConfig,
  vocab: Vocab,
  chars: CharVocab | null | undefined,
  directory: string,
): void {
  const misfit = (what: string, model: number, file: string, maps: number) =>
    new Error(
      `${directory}: the tagger has ${model} ${what} but ${file} has ${maps}: maps and ` +
        "weights do not match",
    );
  if (vocab.words.length !== config.vocabSize) {
    throw misfit("embedding rows", config.vocabSize, "vocab.json", vocab.words.length);
  }
  if (vocab.tags.length !== config.numTags) {
    throw misfit("labels", config.numTags, "vocab.json", vocab.tags.length);
  }
  if (config.charFeatures && !chars) {
    throw new Error(`${directory}: a tagger with char features needs its character map (chars)`);
  }
  if (config.charFeatures && chars && chars.chars.length !== config.numChars) {
    throw misfit("characters", config.numChars, "chars.json", chars.chars.length);
  }
}
