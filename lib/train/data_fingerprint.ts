/**
 * What a run was trained on, recorded in its checkpoints (`training.dataFingerprint`) so that
 * `--resume` refuses data that changed since: the count and a SHA-256 of the training sentences
 * (words and tags) and of the validation file's, if any. A changed file would otherwise resume
 * with maps built for other data (a new tag ended in an uncaught error; swapped labels resumed
 * silently).
 *
 * @module
 */
import type { Sentence } from "../data/corpus.ts";

/** The recorded fingerprint of a run's data. */
export interface DataFingerprint {
  /** Training sentences (before `limit`). */
  trainSentences: number;
  /** SHA-256 (hex) of their words and tags. */
  trainSha256: string;
  /** Validation sentences of their own (a dev file), or null. */
  devSentences: number | null;
  /** SHA-256 (hex) of theirs, or null. */
  devSha256: string | null;
}

/** SHA-256 (hex) of sentences' words and tags, in order. */
async function sentencesSha256(sentences: readonly Sentence[]): Promise<string> {
  const text = sentences
    .map((sentence) => `${sentence.words.join("\u0001")}\u0002${sentence.tags.join("\u0001")}`)
    .join("\u0003");
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * The fingerprint of a run's data.
 *
 * @param train the training sentences
 * @param dev validation sentences of their own, or null
 */
export async function dataFingerprint(
  train: readonly Sentence[],
  dev: readonly Sentence[] | null,
): Promise<DataFingerprint> {
  return {
    trainSentences: train.length,
    trainSha256: await sentencesSha256(train),
    devSentences: dev ? dev.length : null,
    devSha256: dev ? await sentencesSha256(dev) : null,
  };
}

/**
 * What differs between a run's recorded data and the data now, in words, or null.
 *
 * @param recorded the run's fingerprint
 * @param now the data's fingerprint now
 */
export function fingerprintDifference(
  recorded: DataFingerprint,
  now: DataFingerprint,
): string | null {
  const parts: string[] = [];
  const describe = (what: string, count: number | null, sha: string | null) =>
    count === null ? `no ${what}` : `${count} ${what} sentences (SHA-256 ${sha?.slice(0, 12)}…)`;
  if (recorded.trainSha256 !== now.trainSha256) {
    parts.push(
      `the training data changed: the run was trained on ` +
        `${describe("training", recorded.trainSentences, recorded.trainSha256)}, now there are ` +
        describe("training", now.trainSentences, now.trainSha256),
    );
  }
  if (recorded.devSha256 !== now.devSha256) {
    parts.push(
      `the validation data changed: ${describe("dev", recorded.devSentences, recorded.devSha256)}` +
        ` then, ${describe("dev", now.devSentences, now.devSha256)} now`,
    );
  }
  return parts.length === 0 ? null : parts.join("; ");
}

/**
 * A recorded fingerprint if it has the expected shape, else undefined (runs written before
 * fingerprints existed are resumed without the check).
 *
 * @param value `training.dataFingerprint` of a checkpoint's config.json
 */
export function checkDataFingerprint(value: unknown): DataFingerprint | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const count = (field: unknown) => typeof field === "number" && Number.isInteger(field);
  const hex = (field: unknown) => typeof field === "string" && /^[0-9a-f]{64}$/.test(field);
  if (!count(record.trainSentences) || !hex(record.trainSha256)) return undefined;
  if (!(record.devSentences === null || count(record.devSentences))) return undefined;
  if (!(record.devSha256 === null || hex(record.devSha256))) return undefined;
  return record as unknown as DataFingerprint;
}
