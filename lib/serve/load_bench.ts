/**
 * A load benchmark of the server: N concurrent clients on this machine send one sentence per
 * request to a server on 127.0.0.1 for a bounded time, against the same model's batch
 * prediction speed on the same sentences. Reports requests/s, tokens/s, latency percentiles,
 * errors and resident memory over time (flat means no leak). With a prediction pool the server
 * tags on the pool's workers and the batch speed is the pool's, as `deno task serve` runs.
 *
 * @module
 */
import { loadCorpus } from "../data/corpus.ts";
import { loadSplitFile, splitByIds } from "../data/encode.ts";
import type { LoadedModel } from "../io/ensemble_folder.ts";
import type { PredictPool } from "../predict/pool.ts";
import { predictTexts } from "../predict/predict_text.ts";
import { describeModel } from "./model_info.ts";
import { startServer } from "./server.ts";

/** Options of {@linkcode runLoadBench}. */
export interface LoadBenchOptions {
  /** Concurrent clients. Default 16. */
  clients?: number;
  /** Seconds of load. Default 60. */
  seconds?: number;
  /** Where progress goes. Default stderr. */
  progress?: (line: string) => void;
  /** A prediction pool over the model to serve with (see `startServer`); default none. */
  pool?: PredictPool | null;
}

/** What {@linkcode runLoadBench} measured. */
export interface LoadBenchResult {
  /** Concurrent clients. */
  clients: number;
  /** Prediction workers the server tagged on (1: its own thread). */
  workers: number;
  /** Seconds of load. */
  seconds: number;
  /** Requests answered (any status). */
  requests: number;
  /** Requests that failed (non-200 or network error). */
  errors: number;
  /** Successful requests per second. */
  requestsPerSecond: number;
  /** Tokens tagged per second through the server. */
  tokensPerSecond: number;
  /** The same model's batch prediction speed on the same sentences (batches of 256; through the
   * pool when serving with one). */
  batchTokensPerSecond: number;
  /** `tokensPerSecond / batchTokensPerSecond`. */
  ratioToBatch: number;
  /** Latency percentiles in ms. */
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Mean texts per forward pass, from the server's metrics. */
  meanBatchTexts: number;
  /** Resident memory in MB: peak, mean of the first and of the last 10 s of load. */
  rssMB: { peak: number; firstTenSeconds: number; lastTenSeconds: number };
}

/** The `q` quantile of sorted values. */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Test-split sentences as raw text (their words joined by spaces). */
async function testTexts(): Promise<string[]> {
  const corpus = await loadCorpus();
  return splitByIds(corpus.sentences, await loadSplitFile()).test.map((s) => s.words.join(" "));
}

/** Batch prediction tokens/s on `texts` (about 5 s of work), on the pool when there is one. */
async function batchSpeed(
  model: LoadedModel,
  pool: PredictPool | null,
  texts: string[],
): Promise<number> {
  const started = performance.now();
  let tokens = 0;
  for (let from = 0; performance.now() - started < 5000 && from < texts.length; from += 256) {
    const batch = texts.slice(from, from + 256);
    const docs = pool ? await pool.predictTexts(batch) : predictTexts(model, batch);
    for (const doc of docs) tokens += doc.tokens.length;
  }
  return tokens / ((performance.now() - started) / 1000);
}

/** One client: posts sentences one at a time until `deadline`, recording each latency. */
async function client(
  url: string,
  texts: string[],
  start: number,
  deadline: number,
  record: { latencies: number[]; tokens: number; errors: number },
): Promise<void> {
  for (let i = start; performance.now() < deadline; i += 97) {
    const text = texts[i % texts.length];
    const sent = performance.now();
    try {
      const response = await fetch(`${url}v1/ner`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text }),
      });
      const body = await response.json();
      record.latencies.push(performance.now() - sent);
      if (response.status !== 200) record.errors++;
      else record.tokens += body.documents[0].tokens.length;
    } catch {
      record.errors++;
    }
  }
}

/**
 * Runs the load benchmark on a loaded model.
 *
 * @param model the model to serve (e.g. the shipped `data/model`)
 * @param options clients, seconds, progress, the pool to serve with
 */
export async function runLoadBench(
  model: LoadedModel,
  options: LoadBenchOptions = {},
): Promise<LoadBenchResult> {
  const clients = options.clients ?? 16;
  const seconds = options.seconds ?? 60;
  const progress = options.progress ?? ((line: string) => console.error(`[bench] ${line}`));
  const pool = options.pool ?? null;
  const texts = await testTexts();
  const batchTokensPerSecond = await batchSpeed(model, pool, texts);
  progress(`batch prediction: ${batchTokensPerSecond.toFixed(0)} tokens/s`);
  const server = startServer(
    { predictor: pool ?? model, info: await describeModel(model) },
    { port: 0, log: () => {} },
  );
  const rss: { at: number; mb: number }[] = [];
  const started = performance.now();
  const sampler = setInterval(() => {
    rss.push({ at: (performance.now() - started) / 1000, mb: Deno.memoryUsage().rss / 2 ** 20 });
  }, 500);
  const record = { latencies: [] as number[], tokens: 0, errors: 0 };
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, (_, c) => client(server.url, texts, c * 613, deadline, record)),
  );
  const elapsed = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const metricsText = await (await fetch(`${server.url}metrics`)).text();
  await server.shutdown();
  const sumCount = (name: string) =>
    ["sum", "count"].map((kind) =>
      Number(metricsText.match(new RegExp(`^${name}_${kind}(?:\\{[^}]*\\})? (\\S+)$`, "m"))?.[1])
    );
  const [batchTextsSum, batchCount] = sumCount("ner_batch_texts");
  const sorted = [...record.latencies].sort((a, b) => a - b);
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const tokensPerSecond = record.tokens / elapsed;
  return {
    clients,
    workers: pool?.size ?? 1,
    seconds: elapsed,
    requests: record.latencies.length,
    errors: record.errors,
    requestsPerSecond: (record.latencies.length - record.errors) / elapsed,
    tokensPerSecond,
    batchTokensPerSecond,
    ratioToBatch: tokensPerSecond / batchTokensPerSecond,
    latencyMs: {
      p50: quantile(sorted, 0.5),
      p95: quantile(sorted, 0.95),
      p99: quantile(sorted, 0.99),
      max: sorted.at(-1) ?? NaN,
    },
    meanBatchTexts: batchTextsSum / batchCount,
    rssMB: {
      peak: Math.max(...rss.map((s) => s.mb)),
      firstTenSeconds: mean(rss.filter((s) => s.at <= 10).map((s) => s.mb)),
      lastTenSeconds: mean(rss.filter((s) => s.at >= elapsed - 10).map((s) => s.mb)),
    },
  };
}
