/**
 * Distillation: a teacher's per-token tag distributions over the training rows, which the
 * student's loss mixes with the gold tags ({@linkcode DistillConfig.weight}; the loss itself is in
 * lib/train/losses.ts and, for a CRF student, `SoftTargets` in lib/model/crf/).
 *
 * The teacher is any model or ensemble folder (e.g. the shipped `data/model-teacher`): it tags the
 * training sentences as `predict` would (words normalised and looked up in its own maps,
 * caseless sentences routed to its caseless members), each cut at the student's `maxLen`, and
 * gives every tag's probability at every token: softmax probabilities, or for a CRF the
 * marginals under its members' mean scores. That runs once per run: the distributions are cached
 * in the run folder (`teacher-targets.bin`, real tokens only, with `teacher-targets.json` naming
 * the teacher, its files' digest and the rows' digest), so a resumed run reads them back instead
 * of tagging again, and a cache made for another teacher or other rows is recomputed.
 *
 * @module
 */
import type { Sentence } from "../data/corpus.ts";
import { ConfigError } from "../errors.ts";
import type { Vocab } from "../data/vocab.ts";
import { disposeLoadedModel, loadModelFolder } from "../io/ensemble_folder.ts";
import { readJSONFile, readRegularFile, writeFileAtomic } from "../fs/files.ts";
import { concatBytes } from "../fs/files.ts";
import { membersOf, type Predictor } from "../model/mapped.ts";
import { encodeTokens, predictWordIds } from "../predict/predict.ts";
import type { DistillConfig, ResolvedTrainConfig } from "./config.ts";
import type { TrainingData } from "./data.ts";
import type { ProgressSink } from "./progress.ts";

/** The cache's data file in a run folder (float32, real tokens only, row after row). */
export const TEACHER_TARGETS_FILE = "teacher-targets.bin";
/** The cache's description, beside it. */
export const TEACHER_TARGETS_META = "teacher-targets.json";

/** What `teacher-targets.json` records. */
interface TeacherTargetsMeta {
  /** The teacher folder as given. */
  teacher: string;
  /** SHA-256 of the teacher folder's files (names and contents). */
  teacherDigest: string;
  /** SHA-256 of the rows' words. */
  rowsDigest: string;
  /** The student's tags, in its order (the distributions' columns). */
  tags: string[];
  rows: number;
  tokens: number;
}

/**
 * Each student tag's column in the teacher's distributions.
 *
 * @throws {Error} when the two tag sets differ (naming the tags)
 */
function tagColumns(teacherTags: readonly string[], student: Vocab): Int32Array {
  const missing = student.tags.filter((tag) => !teacherTags.includes(tag));
  const extra = teacherTags.filter((tag) => !student.tagIndex.has(tag));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `distill: the teacher has other tags than the training data` +
        (missing.length > 0 ? `; it lacks ${missing.join(", ")}` : "") +
        (extra.length > 0 ? `; the data lacks ${extra.join(", ")}` : ""),
    );
  }
  return Int32Array.from(student.tags, (tag) => teacherTags.indexOf(tag));
}

/**
 * A teacher's tag distributions over sentences cut at `maxLen` words, laid out like encoded
 * rows: `[sentences.length * maxLen * numTags]` in the student's tag order, zeros at padding.
 *
 * @param teacher the teacher (a model or an ensemble)
 * @param sentences the training sentences, in row order
 * @param student the student's maps (its tags order the columns)
 * @param maxLen the student's row length
 * @param onProgress called after each batch with sentences done and in all
 * @returns the distributions
 * @throws {Error} when the teacher's tags differ from the student's
 */
export function teacherDistributions(
  teacher: Predictor,
  sentences: readonly Sentence[],
  student: Vocab,
  maxLen: number,
  onProgress?: (done: number, total: number) => void,
): Float32Array {
  const { vocab } = membersOf(teacher)[0];
  const columns = tagColumns(vocab.tags, student);
  const numTags = student.tags.length;
  const { words, ids } = encodeTokens(teacher, sentences.map((s) => s.words.slice(0, maxLen)));
  const predictions = predictWordIds(teacher, ids, {
    words,
    distributions: true,
    batchSize: 256,
    onProgress,
  });
  const out = new Float32Array(sentences.length * maxLen * numTags);
  predictions.forEach(({ distributions }, row) => {
    const length = words[row].length;
    for (let t = 0; t < length; t++) {
      const from = t * vocab.tags.length;
      const to = (row * maxLen + t) * numTags;
      for (let k = 0; k < numTags; k++) out[to + k] = distributions![from + columns[k]];
    }
  });
  return out;
}

/** SHA-256 (hex) of bytes. */
async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 over a folder's files, by sorted relative path (names and contents). */
async function folderDigest(root: string): Promise<string> {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  const walk = async (folder: string, prefix: string) => {
    const entries: Deno.DirEntry[] = [];
    for await (const entry of Deno.readDir(folder)) entries.push(entry);
    entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    for (const entry of entries) {
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory) await walk(path, `${prefix}${entry.name}/`);
      else if (entry.isFile) {
        parts.push(new TextEncoder().encode(`${prefix}${entry.name}\n`));
        parts.push(await Deno.readFile(path));
      }
    }
  };
  await walk(root, "");
  return await sha256(concatBytes(parts));
}

/** The real-token rows of row-major distributions, packed (what the cache file holds). */
function packRows(values: Float32Array, lengths: ArrayLike<number>, width: number): Float32Array {
  const total = Array.from(lengths).reduce((n, l) => n + l, 0);
  const packed = new Float32Array(total * width);
  let at = 0;
  const rowWidth = values.length / lengths.length;
  for (let row = 0; row < lengths.length; row++) {
    const size = lengths[row] * width;
    packed.set(values.subarray(row * rowWidth, row * rowWidth + size), at);
    at += size;
  }
  return packed;
}

/** The inverse of {@linkcode packRows}. */
function unpackRows(
  packed: Float32Array,
  lengths: ArrayLike<number>,
  rowWidth: number,
  width: number,
) {
  const values = new Float32Array(lengths.length * rowWidth);
  let at = 0;
  for (let row = 0; row < lengths.length; row++) {
    const size = lengths[row] * width;
    values.set(packed.subarray(at, at + size), row * rowWidth);
    at += size;
  }
  return values;
}

/** Reads the cache when it was made for this teacher, these rows and tags; else null. */
async function readCache(out: string, expected: TeacherTargetsMeta): Promise<Float32Array | null> {
  let meta: TeacherTargetsMeta;
  try {
    meta = await readJSONFile<TeacherTargetsMeta>(
      `${out}/${TEACHER_TARGETS_META}`,
      "teacher targets",
    );
  } catch {
    return null;
  }
  const same = meta.teacherDigest === expected.teacherDigest &&
    meta.rowsDigest === expected.rowsDigest && meta.tokens === expected.tokens &&
    JSON.stringify(meta.tags) === JSON.stringify(expected.tags);
  if (!same) return null;
  const expectedBytes = expected.tokens * expected.tags.length * 4;
  const bytes = await readRegularFile(
    `${out}/${TEACHER_TARGETS_FILE}`,
    "teacher targets",
    expectedBytes,
  )
    .catch(() => null); // missing, refused or unreadable: computed again
  if (bytes === null || bytes.length !== expectedBytes) return null;
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

/**
 * The teacher's distributions over a run's fit rows: read from the run folder's cache when it
 * matches, else computed (with progress to `sink`) and cached there.
 *
 * @param distill the distillation settings
 * @param config the run's settings
 * @param data the run's training data (its `fit` rows and their sentences)
 * @param out the run folder (held by this training), or null for no cache
 * @param sink progress
 * @returns `[fit.size * maxLen * numTags]` distributions for {@linkcode TrainingData.softTargets}
 */
export async function softTargetsFor(
  distill: Required<DistillConfig>,
  config: ResolvedTrainConfig,
  data: TrainingData,
  out: string | null,
  sink: ProgressSink,
): Promise<Float32Array> {
  const { fit, fitSentences, vocab } = data;
  const numTags = vocab.tags.length;
  const rowWidth = config.maxLen * numTags;
  const words = fitSentences.map((s) => s.words.slice(0, config.maxLen).join(" ")).join("\n");
  const teacherDigest = await folderDigest(distill.teacher).catch((error) => {
    throw new ConfigError(
      "distill.teacher",
      `cannot be read as a model or ensemble folder (${(error as Error).message})`,
      distill.teacher,
    );
  });
  const expected: TeacherTargetsMeta = {
    teacher: distill.teacher,
    teacherDigest,
    rowsDigest: await sha256(new TextEncoder().encode(words)),
    tags: [...vocab.tags],
    rows: fit.size,
    tokens: Array.from(fit.lengths).reduce((n, l) => n + Math.min(l, config.maxLen), 0),
  };
  const lengths = Array.from(fit.lengths, (l) => Math.min(l, config.maxLen));
  const cached = out ? await readCache(out, expected) : null;
  if (cached) {
    sink(`teacher distributions read from ${out}/${TEACHER_TARGETS_FILE}\n`);
    return unpackRows(cached, lengths, rowWidth, numTags);
  }
  const teacher = await loadModelFolder(distill.teacher).catch((error) => {
    throw new ConfigError("distill.teacher", (error as Error).message, distill.teacher);
  });
  try {
    tagColumns(membersOf(teacher)[0].vocab.tags, vocab);
  } catch (error) {
    disposeLoadedModel(teacher);
    throw new ConfigError("distill.teacher", (error as Error).message, distill.teacher);
  }
  try {
    const started = performance.now();
    let lastReport = started;
    sink(`teacher ${distill.teacher} tags ${fit.size} training sentences (once per run)\n`);
    const values = teacherDistributions(
      teacher,
      fitSentences,
      vocab,
      config.maxLen,
      (done, total) => {
        const now = performance.now();
        if (now - lastReport < 5000 && done < total) return;
        lastReport = now;
        const seconds = (now - started) / 1000;
        const eta = done > 0 ? seconds * (total - done) / done : 0;
        sink(
          `  teacher: ${done}/${total} sentences, ${seconds.toFixed(0)} s, ETA ${
            eta.toFixed(0)
          } s\n`,
        );
      },
    );
    if (out) {
      const packed = packRows(values, lengths, numTags);
      await writeFileAtomic(`${out}/${TEACHER_TARGETS_FILE}`, new Uint8Array(packed.buffer));
      await writeFileAtomic(`${out}/${TEACHER_TARGETS_META}`, JSON.stringify(expected, null, 2));
    }
    return values;
  } finally {
    disposeLoadedModel(teacher);
  }
}
