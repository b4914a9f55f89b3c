/**
 * `deno task distill --teacher DIR [--distill-weight R] [--out RUN] [every train flag]`
 *
 * Trains one student on a teacher's per-token tag distributions together with the gold tags
 * (lib/train/distill.ts): `deno task train` with `--teacher` required. The teacher (a model or
 * ensemble folder, e.g. the shipped `data/model-teacher`) tags the training sentences once; the
 * distributions are cached in the run folder, so `--resume` does not tag them again. The
 * student's size and training settings are the train flags (`--units`, `--char-features`,
 * `--model-type bilstm-crf`, …); each token's target is `(1 − R)·gold + R·teacher`.
 *
 * @example
 * ```sh
 * deno task distill --teacher data/model-teacher --model-type bilstm-crf --char-features --units 100 \
 *   --out runs/student-u100
 * ```
 *
 * @module
 */
import { main as trainMain } from "./train.ts";

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code: 0 ok, 1 runtime error, 2 usage error
 */
export async function main(args: string[]): Promise<number> {
  return await trainMain(args, "distill");
}

if (import.meta.main) Deno.exit(await main(Deno.args));
