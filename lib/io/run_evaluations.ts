/**
 * The test scores of a training run folder.
 *
 * `evaluation.json` ({@linkcode RunEvaluationFile}) holds, at its top level, the record of the
 * latest evaluation on the tutorial's test split ({@linkcode RunEvaluation}, the whole file in
 * versions before file scores existed, which still read) and, under `tests`, one record per test
 * file of your own ({@linkcode RunFileEvaluation}), keyed by the SHA-256 of the file's bytes:
 *
 * ```json
 * {
 *   "split": "test", "checkpoint": "checkpoints/epoch-018", "epoch": 18, "scheme": "strict",
 *   "casing": "original", "entity": { "precision": 0.82, "recall": 0.8, "f1": 0.81,
 *   "support": 10000 }, "tokenAccuracy": 0.97, "evaluatedAt": "2026-01-01T00:00:00.000Z",
 *   "tests": {
 *     "9f86d0…": { "file": "data/mine/test.conll", "name": "test.conll", "sha256": "9f86d0…",
 *       "checkpoint": "checkpoints/epoch-018", "epoch": 18, "scheme": "strict",
 *       "casing": "original", "sentences": 1200, "entity": { … }, "tokenAccuracy": 0.95,
 *       "evaluatedAt": "2026-01-02T00:00:00.000Z" }
 *   }
 * }
 * ```
 *
 * The top-level fields are absent while the run was never scored on the tutorial's test split;
 * `tests` is absent while no file was. The same bytes scored again replace their own record
 * (whatever the file is called now); another file, or the same file edited, adds one.
 *
 * @module
 */
import { basename } from "node:path";
import { readJSONIfAny, writeFileAtomic } from "../fs/files.ts";
import { asRecord, finiteOrNull } from "./json_values.ts";

/** The file of a run folder that holds its test scores, written by `deno task evaluate`. */
export const EVALUATION_FILE = "evaluation.json";

/** Micro-averaged entity scores, as `evaluation.json` stores them. */
export interface RecordedEntityScores {
  /** Entity precision. */
  precision: number;
  /** Entity recall. */
  recall: number;
  /** Entity F1. */
  f1: number;
  /** Gold entities. */
  support: number;
}

/**
 * The record of a run's latest full evaluation on the tutorial's test split: the top-level
 * fields of `evaluation.json` ({@linkcode RunEvaluationFile}; the whole file before file scores
 * existed).
 */
export interface RunEvaluation {
  /** Always `"test"`: only full test-split evaluations are recorded. */
  split: "test";
  /**
   * The checkpoint evaluated, relative to the run folder (`checkpoints/epoch-018`); absent in
   * records written before it was kept, null when unknown.
   */
  checkpoint?: string | null;
  /** Epochs the evaluated checkpoint had completed. */
  epoch: number;
  /** The entity scheme (`"strict"`, seqeval's). */
  scheme: string;
  /** How the words were cased (`"original"`); absent in records written before it was kept. */
  casing?: string;
  /** Micro-averaged entity scores. */
  entity: RecordedEntityScores;
  /** Accuracy over real tokens of the full sentences. */
  tokenAccuracy: number;
  /** When it was evaluated (ISO 8601). */
  evaluatedAt: string;
}

/**
 * The record of a run's latest full evaluation on a labelled file of your own
 * (`deno task evaluate --model RUN --test FILE`), kept under its {@linkcode sha256} in the
 * `tests` of `evaluation.json`.
 */
export interface RunFileEvaluation {
  /** The file's path as it was given. */
  file: string;
  /** The file's base name (`test.conll`). */
  name: string;
  /** SHA-256 (lowercase hex) of the file's bytes as stored (gzip included): the record's key. */
  sha256: string;
  /** The checkpoint evaluated, relative to the run folder (`checkpoints/epoch-018`), or null. */
  checkpoint: string | null;
  /** Epochs the evaluated checkpoint had completed. */
  epoch: number;
  /** The entity scheme (`"strict"`). */
  scheme: string;
  /** How the words were cased (`"original"`). */
  casing: string;
  /** Sentences scored (all of the file's). */
  sentences: number;
  /** Micro-averaged entity scores. */
  entity: RecordedEntityScores;
  /** Accuracy over real tokens of the full sentences. */
  tokenAccuracy: number;
  /** When it was evaluated (ISO 8601). */
  evaluatedAt: string;
}

/**
 * What `evaluation.json` of a run folder holds: the tutorial test split's record at the top
 * level (absent until there is one; older versions wrote only that), and the records of your own
 * test files under `tests`, keyed by their SHA-256 (absent until there is one).
 */
export type RunEvaluationFile = Partial<RunEvaluation> & {
  /** Your own test files' records, by the SHA-256 of each file's bytes. */
  tests?: Record<string, RunFileEvaluation>;
};

/** A run's recorded test scores, as {@linkcode readRunEvaluations} reads them. */
export interface RunEvaluations {
  /** The tutorial test split's record, or null when there is none. */
  split: RunEvaluation | null;
  /** Your own test files' records, oldest evaluation first. */
  tests: RunFileEvaluation[];
}

/** The path of a run folder's `evaluation.json`. */
function evaluationPath(directory: string): string {
  return `${directory.replace(/(?<=.)\/+$/, "")}/${EVALUATION_FILE}`;
}

/** The keys of the tutorial split's record, the top level of `evaluation.json`. */
const SPLIT_KEYS = [
  "split",
  "checkpoint",
  "epoch",
  "scheme",
  "casing",
  "entity",
  "tokenAccuracy",
  "evaluatedAt",
] as const;

/** A SHA-256 in hex, as `tests` is keyed. */
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Checks a parsed `evaluation.json` (either layout) and splits it into its records.
 *
 * @throws {Error} naming the file and the field when it is not an evaluation record
 */
function parseRunEvaluations(stored: unknown, file: string): RunEvaluations {
  const top = asRecord(stored);
  if (!top) throw new Error(`${file}: not a JSON object`);
  const scores = (value: unknown, where: string): RecordedEntityScores => {
    const entity = asRecord(value);
    if (!entity || finiteOrNull(entity.f1) === null) {
      throw new Error(`${file}: ${where}entity.f1 is not a number`);
    }
    return entity as unknown as RecordedEntityScores;
  };
  let split: RunEvaluation | null = null;
  if (top.entity !== undefined) {
    scores(top.entity, "");
    split = Object.fromEntries(
      SPLIT_KEYS.filter((key) => key in top).map((key) => [key, top[key]]),
    ) as unknown as RunEvaluation;
  }
  const tests: RunFileEvaluation[] = [];
  if (top.tests !== undefined) {
    const byKey = asRecord(top.tests);
    if (!byKey) throw new Error(`${file}: "tests" is not an object keyed by SHA-256`);
    for (const [key, value] of Object.entries(byKey)) {
      const where = `tests[${JSON.stringify(key)}].`;
      const entry = asRecord(value);
      if (!entry) throw new Error(`${file}: ${where.slice(0, -1)} is not an object`);
      if (!SHA256.test(key) || entry.sha256 !== key) {
        throw new Error(`${file}: ${where}sha256 must be the key, a SHA-256 in hex`);
      }
      if (typeof entry.file !== "string") throw new Error(`${file}: ${where}file is not a path`);
      if (finiteOrNull(entry.epoch) === null) {
        throw new Error(`${file}: ${where}epoch is not a number`);
      }
      scores(entry.entity, where);
      tests.push({
        ...entry,
        name: typeof entry.name === "string" ? entry.name : basename(entry.file),
      } as unknown as RunFileEvaluation);
    }
  }
  const time = (entry: RunFileEvaluation) => Date.parse(entry.evaluatedAt) || 0;
  tests.sort((a, b) => time(a) - time(b));
  return { split, tests };
}

/**
 * Reads a run folder's `evaluation.json`: either layout (only the tutorial split's record, as
 * older versions wrote it, or with `tests`).
 *
 * @example
 * ```ts
 * import { readRunEvaluations } from "./run_evaluations.ts";
 * const { split, tests } = await readRunEvaluations("runs/my-run");
 * console.log(split?.entity.f1, tests.map((test) => [test.name, test.entity.f1]));
 * ```
 *
 * @param directory the run folder
 * @returns the tutorial split's record (or null) and the test files' records, oldest first
 *   (none of either when the file is missing)
 * @throws {Error} naming the file when it is not valid JSON or not an evaluation record
 */
export async function readRunEvaluations(directory: string): Promise<RunEvaluations> {
  const file = evaluationPath(directory);
  const stored = await readJSONIfAny(file, "evaluation record");
  return stored === undefined ? { split: null, tests: [] } : parseRunEvaluations(stored, file);
}

/**
 * Reads the tutorial test split's record of a run folder's `evaluation.json`.
 *
 * @param directory the run folder
 * @returns its recorded evaluation on the tutorial's test split, or null when there is none
 * @throws {Error} naming the file when it is not valid JSON or not an evaluation record
 */
export async function readRunEvaluation(directory: string): Promise<RunEvaluation | null> {
  return (await readRunEvaluations(directory)).split;
}

/**
 * Rewrites `evaluation.json` atomically with a change to its records (a read-modify-write:
 * two evaluations of one run finishing at the same moment may keep only one record).
 */
async function updateRunEvaluations(
  directory: string,
  change: (evaluations: RunEvaluations) => RunEvaluations,
): Promise<string> {
  const path = evaluationPath(directory);
  const { split, tests } = change(await readRunEvaluations(directory));
  const stored: RunEvaluationFile = {
    ...split,
    ...(tests.length > 0
      ? { tests: Object.fromEntries(tests.map((test) => [test.sha256, test])) }
      : {}),
  };
  await writeFileAtomic(path, JSON.stringify(stored, null, 2) + "\n");
  return path;
}

/**
 * Records a run's scores on the tutorial's test split in `RUN/evaluation.json` (atomically),
 * replacing the split's older record and keeping the records of test files.
 *
 * @example
 * ```ts
 * import { writeRunEvaluation } from "./run_evaluations.ts";
 * await writeRunEvaluation("runs/units-200", {
 *   split: "test",
 *   checkpoint: "checkpoints/epoch-005",
 *   epoch: 5,
 *   scheme: "strict",
 *   casing: "original",
 *   entity: { precision: 0.82, recall: 0.8, f1: 0.81, support: 10_000 },
 *   tokenAccuracy: 0.97,
 *   evaluatedAt: new Date().toISOString(),
 * });
 * ```
 *
 * @param directory the run folder
 * @param evaluation the scores
 * @returns the file written
 * @throws {Error} naming the file when the existing one cannot be read (it is left as it is)
 */
export async function writeRunEvaluation(
  directory: string,
  evaluation: RunEvaluation,
): Promise<string> {
  return await updateRunEvaluations(directory, ({ tests }) => ({ split: evaluation, tests }));
}

/**
 * Records a run's scores on a test file of your own in `RUN/evaluation.json` (atomically), under
 * the file's SHA-256: replacing the record of the same bytes, keeping every other record.
 *
 * @example
 * ```ts
 * import { fileSha256, writeRunFileEvaluation } from "./run_evaluations.ts";
 * const file = "data/mine/test.conll";
 * await writeRunFileEvaluation("runs/mine", {
 *   file,
 *   name: "test.conll",
 *   sha256: await fileSha256(file),
 *   checkpoint: "checkpoints/epoch-018",
 *   epoch: 18,
 *   scheme: "strict",
 *   casing: "original",
 *   sentences: 1200,
 *   entity: { precision: 0.7, recall: 0.6, f1: 0.646, support: 2000 },
 *   tokenAccuracy: 0.95,
 *   evaluatedAt: new Date().toISOString(),
 * });
 * ```
 *
 * @param directory the run folder
 * @param evaluation the scores, with the file's path, base name and SHA-256
 * @returns the file written
 * @throws {Error} naming the file when the existing one cannot be read (it is left as it is),
 *   or when `evaluation.sha256` is not a SHA-256 in hex
 */
export async function writeRunFileEvaluation(
  directory: string,
  evaluation: RunFileEvaluation,
): Promise<string> {
  if (!SHA256.test(evaluation.sha256)) {
    throw new Error(`not a SHA-256 in lowercase hex: ${JSON.stringify(evaluation.sha256)}`);
  }
  return await updateRunEvaluations(directory, ({ split, tests }) => ({
    split,
    tests: [...tests.filter((test) => test.sha256 !== evaluation.sha256), evaluation],
  }));
}

/**
 * The SHA-256 of a file's bytes, as {@linkcode RunFileEvaluation.sha256} keys a test file.
 *
 * @param path the file
 * @returns lowercase hex
 */
export async function fileSha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
