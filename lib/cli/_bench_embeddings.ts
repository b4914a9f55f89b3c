/**
 * The bench's word-vectors read (`load.embeddingsSecondsPerGB`): a generated GloVe-style text
 * file (100 dimensions, 6 decimals a value, as GloVe writes them) read by `readWordVectors`
 * with a 30,000-word vocabulary and 50,000 extra words kept, timed and scaled to one GiB.
 * `deno run -A lib/cli/_bench_embeddings.ts FILE MIB` writes such a file of MIB MiB (how the
 * 1 GB memory check in docs/training.md was made).
 *
 * @module
 */
import { readWordVectors } from "../data/embeddings.ts";
import { seededRandom } from "../data/random.ts";

/** The generated vectors' width. */
const DIMENSION = 100;

/**
 * Writes a GloVe-style vectors file of about `bytes` bytes: words `w0`, `w1`, … with seeded
 * values.
 *
 * @param path the file to write
 * @param bytes its approximate size
 * @returns the number of vectors written
 */
export async function writeSyntheticVectors(path: string, bytes: number): Promise<number> {
  const random = seededRandom(7);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  let written = 0;
  let words = 0;
  try {
    while (written < bytes) {
      const lines: string[] = [];
      for (let line = 0; line < 2_000; line++) {
        const values = Array.from({ length: DIMENSION }, () => (random() * 2 - 1).toFixed(6));
        lines.push(`w${words++} ${values.join(" ")}\n`);
      }
      const chunk = encoder.encode(lines.join(""));
      let offset = 0;
      while (offset < chunk.length) offset += await file.write(chunk.subarray(offset));
      written += chunk.length;
    }
  } finally {
    file.close();
  }
  return words;
}

/**
 * Times reading a generated vectors file of `bytes` bytes and scales it to one GiB.
 *
 * @param folder a scratch folder (the file is removed afterwards)
 * @param bytes the file's size (default 64 MiB)
 * @returns seconds per GiB read, and the file's size
 */
export async function benchEmbeddingsLoad(
  folder: string,
  bytes = 64 * 1024 ** 2,
): Promise<{ secondsPerGB: number; bytes: number }> {
  const path = `${folder}/vectors.txt`;
  try {
    await writeSyntheticVectors(path, bytes);
    const size = (await Deno.stat(path)).size;
    const vocabulary = Array.from({ length: 30_000 }, (_, index) => `w${index * 3}`);
    const started = performance.now();
    await readWordVectors(path, { vocabulary, extraWords: 50_000 });
    const seconds = (performance.now() - started) / 1000;
    return { secondsPerGB: seconds / (size / 1024 ** 3), bytes: size };
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

if (import.meta.main) {
  const [path, mib] = Deno.args;
  const words = await writeSyntheticVectors(path, Number(mib) * 1024 ** 2);
  console.log(`wrote ${words} vectors to ${path}`);
}
