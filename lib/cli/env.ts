/**
 * `deno task env`: prints which tfjs backend this project runs on.
 *
 *   deno run -A lib/cli/env.ts [--json] [--backend wasm|cpu] [--threads N|auto]
 *
 * Without `--json` it prints one line, e.g. `backend wasm · SIMD on · 1 thread · tfjs 4.22.0 ·
 * deno 2.9.6 · platform node`. With `--json` stdout carries only
 * `{backend, simd, threads, platform, deno, tfjs}`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  type BackendInfo,
  type BackendName,
  describeBackend,
  initBackend,
} from "../backend/backend.ts";
import {
  BACKEND_FLAG,
  formatUsage,
  HELP_FLAG,
  parseBackend,
  parseFlags,
  parseThreads,
  reportUsageErrors,
  THREADS_FLAG,
} from "./_args.ts";

/** Everything `env --json` reports. */
export interface EnvReport extends BackendInfo {
  /** Deno version. */
  deno: string;
  /** TensorFlow.js version. */
  tfjs: string;
}

const FLAGS = {
  json: { type: "boolean", default: false, help: "print one JSON object on stdout" },
  ...BACKEND_FLAG,
  ...THREADS_FLAG,
  ...HELP_FLAG,
} as const;

const USAGE = formatUsage({ command: "deno task env", flags: FLAGS });

/** Parsed command line of this CLI. */
interface EnvArgs {
  json: boolean;
  backend: BackendName;
  threads: number | "auto";
}

/** Parses `--json`, `--backend` and `--threads`; undefined for `--help`. */
function parseEnvArgs(args: string[]): EnvArgs | undefined {
  const { values } = parseFlags(args, FLAGS);
  if (values.help) return undefined;
  return {
    json: values.json,
    backend: parseBackend(values.backend),
    threads: parseThreads(values.threads),
  };
}

/**
 * Initialises the backend and gathers the versions.
 *
 * @param backend backend to initialise.
 * @param threads WASM threads (see `BackendOptions.threads`).
 */
export async function collectEnvReport(
  backend: BackendName,
  threads: number | "auto",
): Promise<EnvReport> {
  const info = await initBackend({ backend, threads });
  return { ...info, deno: Deno.version.deno, tfjs: tf.version.tfjs };
}

/** Prints the report as one line, or as JSON. */
async function printEnvReport(args: EnvArgs): Promise<number> {
  const report = await collectEnvReport(args.backend, args.threads);
  if (args.json) {
    const { backend, simd, threads, platform, deno, tfjs } = report;
    console.log(JSON.stringify({ backend, simd, threads, platform, deno, tfjs }));
  } else {
    console.log(
      `${describeBackend(report)} · tfjs ${report.tfjs} · deno ${report.deno} · ` +
        `platform ${report.platform}`,
    );
  }
  return 0;
}

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code: 0 ok, 2 usage error
 */
export async function main(args: string[]): Promise<number> {
  return await reportUsageErrors(USAGE, async () => {
    const parsed = parseEnvArgs(args);
    if (parsed === undefined) {
      console.log(USAGE);
      return 0;
    }
    return await printEnvReport(parsed);
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
