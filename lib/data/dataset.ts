/**
 * Which sentences a run trains, validates and tests on: the bundled GMB corpus and the
 * tutorial's split (the default), or your own files in any format `formats.ts` reads. The tag
 * set then comes from the training file; a dev or test file may hold types the training file
 * lacks: they are reported, and scored as misses.
 *
 * @example
 * ```ts
 * import { loadTrainingSentences } from "./dataset.ts";
 * const own = await loadTrainingSentences({ train: "tests/fixtures/own_data/train.conll" });
 * console.log(own.train.length, own.dev, own.summaries[0].types);
 * ```
 *
 * @module
 */
import { type Corpus, loadCorpus, type Sentence } from "./corpus.ts";
import { CorpusError } from "./_corpus_error.ts";
import { loadSplitFile, splitByIds, validationTail } from "./encode.ts";
import { projectPath } from "../fs/paths.ts";
import { loadSentences, type ReadOptions, type ReadSummary } from "./formats.ts";
import { checkDataConfig, type DataConfig } from "./data_config.ts";

export { checkDataConfig, type DataConfig } from "./data_config.ts";

/** The sentences of a run: training, validation and what reading found. */
export interface TrainingSentences {
  /** The training sentences, in order (without a dev file their tail is held out). */
  train: Sentence[];
  /** The dev file's sentences, or null (then validation is the tail of `train`). */
  dev: Sentence[] | null;
  /** What reading each file found (none for the bundled corpus). */
  summaries: ReadSummary[];
  /** Things the user should know: types of the dev file the training file lacks, repairs. */
  warnings: string[];
}

/** The bundled corpus, loaded once per process. */
let bundled: Promise<Corpus> | undefined;

/** The bundled GMB corpus (loaded once, then shared). */
function bundledCorpus(): Promise<Corpus> {
  // A failed load is not kept: the next call tries again.
  bundled ??= loadCorpus().catch((error) => {
    bundled = undefined;
    throw error;
  });
  return bundled;
}

/** The entity types of sentences (IOB2 tags) with their entity counts. */
export function entityTypes(sentences: readonly Sentence[]): Map<string, number> {
  const types = new Map<string, number>();
  for (const sentence of sentences) {
    for (const tag of sentence.tags) {
      if (tag.startsWith("B-")) types.set(tag.slice(2), (types.get(tag.slice(2)) ?? 0) + 1);
    }
  }
  return types;
}

/**
 * A message about the types of `sentences` a model or training set lacks, or null when it
 * lacks none: they cannot be predicted, so their entities count as misses.
 *
 * @param sentences the sentences scored (IOB2)
 * @param known the types the model knows
 * @param source the file, for the message
 */
export function unknownTypesMessage(
  sentences: readonly Sentence[],
  known: Iterable<string>,
  source: string,
): string | null {
  const knownTypes = new Set(known);
  const missing = [...entityTypes(sentences)].filter(([type]) => !knownTypes.has(type));
  if (missing.length === 0) return null;
  const listed = missing.map(([type, count]) => `${type} (${count})`).join(", ");
  return `${source}: the types ${listed} are not in the training data, so the model cannot ` +
    `predict them: their entities count as misses (the model knows ${
      [...knownTypes].sort().join(", ")
    })`;
}

/**
 * Notes on how a file was read, for the user: repaired tags, spans left out, an ambiguous scheme.
 *
 * @param summary what reading the file found
 * @returns one line per note, each naming the file
 */
export function readingNotes(summary: ReadSummary): string[] {
  const notes: string[] = [];
  if (summary.repairs > 0) {
    notes.push(
      `${summary.source}: ${summary.repairs} tags continued an entity that was not open ` +
        "(I- after O or another type) and were read as B- (refuse them with --strict)",
    );
  }
  if (summary.skippedSpans > 0) {
    notes.push(`${summary.source}: ${summary.skippedSpans} spans off token boundaries left out`);
  }
  if (summary.schemeNote) notes.push(`${summary.source}: ${summary.schemeNote}`);
  return notes;
}

/**
 * Loads the sentences a run trains on: your own files, or (for `null`) the tutorial's
 * training split of the bundled corpus.
 *
 * @param data the files and how to read them; null for the bundled corpus
 * @returns training and dev sentences, summaries and warnings
 * @throws {CorpusError} naming the file and line; also when the training file has no entity
 */
export async function loadTrainingSentences(data: DataConfig | null): Promise<TrainingSentences> {
  if (data === null) {
    const corpus = await bundledCorpus();
    const train = splitByIds(corpus.sentences, await loadSplitFile()).train;
    return { train, dev: null, summaries: [], warnings: [] };
  }
  const { dev: devPath = null, train: trainPath, ...options } = checkDataConfig(data);
  const train = await loadSentences(trainPath, options);
  if (train.summary.types.length === 0) {
    throw new CorpusError(
      trainPath,
      `no entity in ${train.summary.sentences} sentences: every tag is O (is the tag in another ` +
        "column? see --tag-column)",
    );
  }
  const summaries = [train.summary];
  const warnings = readingNotes(train.summary);
  let dev: Sentence[] | null = null;
  if (devPath !== null) {
    const loaded = await loadSentences(devPath, options);
    dev = loaded.sentences;
    summaries.push(loaded.summary);
    warnings.push(...readingNotes(loaded.summary));
    const unknown = unknownTypesMessage(dev, train.summary.types, devPath);
    if (unknown) warnings.push(unknown);
  }
  return { train: train.sentences, dev, summaries, warnings };
}

/**
 * Loads the sentences to test on: a file of your own, or (for `null`) the tutorial's test split
 * of the bundled corpus.
 *
 * @param path the file; null for the bundled test split
 * @param options how to read the file
 * @returns the sentences and, for a file, what reading found
 * @throws {CorpusError} naming the file and line
 */
export async function loadTestSentences(
  path: string | null,
  options: ReadOptions = {},
): Promise<{ sentences: Sentence[]; summary: ReadSummary | null; warnings: string[] }> {
  if (path === null) {
    const corpus = await bundledCorpus();
    const sentences = splitByIds(corpus.sentences, await loadSplitFile()).test;
    return { sentences, summary: null, warnings: [] };
  }
  const { sentences, summary } = await loadSentences(path, options);
  return { sentences, summary, warnings: readingNotes(summary) };
}

/** The data a notebook series uses: training files (null: the bundled corpus) and a test file. */
export interface DataSelection {
  /** Your own training data, or null for the bundled GMB corpus and the tutorial's split. */
  data: DataConfig | null;
  /** A labelled test file of your own, or null (the tutorial's test split, for the bundled corpus). */
  test: string | null;
}

/**
 * The data the notebooks use, from the environment, so that one setting serves all six:
 * `BILSTM_NER_TRAIN` (a training file; unset: the bundled corpus), `BILSTM_NER_DEV`,
 * `BILSTM_NER_TEST` and `BILSTM_NER_FORMAT`. Relative paths are taken from the repository root.
 *
 * @param env the environment (default `Deno.env`)
 * @returns the selection
 */
export function dataSelectionFromEnv(
  env: Pick<typeof Deno.env, "get"> = Deno.env,
): DataSelection {
  const path = (name: string) => {
    const value = env.get(name);
    if (value === undefined || value === "") return null;
    return value.startsWith("/") ? value : projectPath(value);
  };
  const train = path("BILSTM_NER_TRAIN");
  const format = env.get("BILSTM_NER_FORMAT") as DataConfig["format"] | undefined;
  const data = train === null ? null : checkDataConfig({
    train,
    dev: path("BILSTM_NER_DEV"),
    ...(format ? { format } : {}),
  }, "BILSTM_NER_");
  return { data, test: path("BILSTM_NER_TEST") };
}

/**
 * The sentences to score a model on: the test file when there is one; else, for your own data,
 * the dev file or the training file's validation tail; else the tutorial's test split.
 *
 * @param selection the data and test file
 * @param validationSplit the share held out when the validation tail is used (default 0.1)
 * @returns the sentences and what they are, in words
 */
export async function loadEvaluationSentences(
  selection: DataSelection,
  validationSplit = 0.1,
): Promise<{ sentences: Sentence[]; name: string; warnings: string[] }> {
  const { data, test } = selection;
  if (test !== null || data === null) {
    const loaded = await loadTestSentences(test, data ?? {});
    return {
      ...loaded,
      name: test ?? "the tutorial's test split",
    };
  }
  const { train, dev, warnings } = await loadTrainingSentences(data);
  if (dev) return { sentences: dev, name: `the dev file ${data.dev}`, warnings };
  const tail = validationTail(train, validationSplit).validation;
  return { sentences: tail, name: `the validation tail of ${data.train} (no test file)`, warnings };
}
