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
import { parseArgs } from "node:util";
import {
  type BackendInfo,
  type BackendName,
  describeBackend,
  initBackend,
} from "../backend/backend.ts";

/** Everything `env --json` reports. */
export interface EnvReport extends BackendInfo {
  /** Deno version. */
  deno: string;
  /** TensorFlow.js version. */
  tfjs: string;
}

/** Parsed command line of this CLI. */
interface EnvArgs {
  json: boolean;
  backend: BackendName;
  threads: number | "auto";
}

/** Parses `--json`, `--backend` and `--threads`. */
function parseEnvArgs(args: string[]): EnvArgs {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: "boolean", default: false },
      backend: { type: "string", default: "wasm" },
      threads: { type: "string", default: "auto" },
    },
  });
  if (values.backend !== "wasm" && values.backend !== "cpu") {
    throw new Error(`--backend must be wasm or cpu, got ${values.backend}`);
  }
  const threads = values.threads === "auto" ? "auto" : Number(values.threads);
  return { json: values.json, backend: values.backend, threads };
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

/** Entry point. */
async function main(): Promise<void> {
  const args = parseEnvArgs(Deno.args);
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
}

if (import.meta.main) await main();
