/**
 * `deno task bench-serve [--model DIR] [--clients N] [--seconds S] [--workers N|auto] [--json]`:
 * the server's load benchmark (lib/serve/load_bench.ts): N concurrent clients on this machine, one
 * sentence per request, against a server on 127.0.0.1 serving the model, for S seconds, tagging on
 * a prediction pool as `deno task serve` does (`--workers 1`: on the server's thread). Prints a
 * table, or one JSON object with `--json` (progress on stderr).
 *
 * @module
 */
import { describeBackend, initBackend } from "../backend/backend.ts";
import { loadModelFolder } from "../io/ensemble_folder.ts";
import { SHIPPED_MODEL } from "../io/runs.ts";
import { poolForJob } from "../predict/pool.ts";
import { runLoadBench } from "../serve/load_bench.ts";
import { formatTable } from "../plot/table.ts";
import {
  formatUsage,
  HELP_FLAG,
  parseFlags,
  parsePositiveInteger,
  parseWorkers,
  reportUsageErrors,
  WORKERS_FLAG,
} from "./_args.ts";

const FLAGS = {
  model: { type: "string", value: "DIR", help: "the model to serve (default data/model)" },
  clients: { type: "string", default: "16", value: "N", help: "concurrent clients (default 16)" },
  seconds: { type: "string", default: "60", value: "S", help: "seconds of load (default 60)" },
  json: { type: "boolean", default: false, help: "print one JSON object on stdout" },
  ...WORKERS_FLAG,
  ...HELP_FLAG,
} as const;

const USAGE = formatUsage({ command: "deno task bench-serve", flags: FLAGS });

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the exit code
 */
export async function main(args: string[]): Promise<number> {
  return await reportUsageErrors(USAGE, async () => {
    const { values } = parseFlags(args, FLAGS);
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const clients = parsePositiveInteger("--clients", values.clients);
    const seconds = parsePositiveInteger("--seconds", values.seconds);
    console.error(describeBackend(await initBackend({ backend: "wasm", threads: "auto" })));
    const model = await loadModelFolder(values.model ?? SHIPPED_MODEL);
    const workers = parseWorkers(values.workers);
    const pool = await poolForJob(model, { workers, backend: "wasm" });
    let result;
    try {
      result = await runLoadBench(model, { clients, seconds, pool });
    } finally {
      await pool?.close();
    }
    if (values.json) {
      console.log(JSON.stringify(result));
      return result.errors === 0 ? 0 : 1;
    }
    const { latencyMs: l, rssMB: m } = result;
    console.log(formatTable(["measure", "value"], [
      ["clients × seconds", `${result.clients} × ${result.seconds.toFixed(1)}`],
      ["prediction workers", String(result.workers)],
      ["requests (errors)", `${result.requests} (${result.errors})`],
      ["requests/s", result.requestsPerSecond.toFixed(1)],
      [
        "tokens/s (served / batch)",
        `${result.tokensPerSecond.toFixed(0)} / ${result.batchTokensPerSecond.toFixed(0)} = ${
          (100 * result.ratioToBatch).toFixed(0)
        }%`,
      ],
      [
        "latency p50 / p95 / p99 / max ms",
        [l.p50, l.p95, l.p99, l.max].map((v) => v.toFixed(0)).join(" / "),
      ],
      ["mean texts per forward pass", result.meanBatchTexts.toFixed(1)],
      [
        "RSS MB peak / first 10 s / last 10 s",
        [m.peak, m.firstTenSeconds, m.lastTenSeconds].map((v) => v.toFixed(0)).join(" / "),
      ],
    ]));
    return result.errors === 0 ? 0 : 1;
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
