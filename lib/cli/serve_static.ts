/**
 * `deno task serve-static [--port N] SITE`: a small static file server for a site
 * `deno task export-web` wrote (or any folder), on 127.0.0.1 only. It serves files under SITE
 * (GET and HEAD; `/` and folders serve their `index.html`) with their content types
 * (`application/wasm` for the tfjs binaries, so browsers compile them streaming), refuses paths
 * that leave SITE (`..`, encoded or not, and symbolic links out of it), and prints the URL.
 * `--port 0` (the default 8000 when free) picks a free port.
 *
 * Exit codes: 0 stopped, 1 runtime error (SITE missing, port taken), 2 usage error.
 *
 * @module
 */
import { isInsideFolder } from "../fs/inside.ts";
import {
  formatUsage,
  HELP_FLAG,
  parseFlags,
  parseInteger,
  runCommand,
  UsageError,
} from "./_args.ts";

/** Content types by file extension; anything else is `application/octet-stream`. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  wasm: "application/wasm",
  bin: "application/octet-stream",
  png: "image/png",
  svg: "image/svg+xml",
  txt: "text/plain; charset=utf-8",
};

const FLAGS = {
  port: { type: "string", value: "N", default: "8000", help: "port on 127.0.0.1 (0: a free one)" },
  ...HELP_FLAG,
} as const;

const USAGE = formatUsage({
  command: "deno task serve-static",
  synopsis: "[--port N] SITE",
  flags: FLAGS,
  notes: ["SITE: a folder deno task export-web wrote (or any folder of static files)"],
});

/** A plain-text response. */
function text(status: number, body: string): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/**
 * The handler serving the files under `root` (its real path).
 *
 * @param root the site folder, symbolic links resolved
 * @returns a `Deno.serve` handler
 */
export function staticHandler(root: string): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(request.url).pathname);
    } catch {
      return text(400, "bad path");
    }
    if (path.includes("\0") || path.split("/").includes("..")) return text(403, "forbidden");
    let file = `${root}${path}`;
    let real: string;
    try {
      real = await Deno.realPath(file);
      if ((await Deno.stat(real)).isDirectory) {
        file = `${real}/index.html`;
        real = await Deno.realPath(file);
      }
    } catch {
      return text(404, "not found");
    }
    if (!isInsideFolder(real, root)) return text(403, "forbidden");
    let opened: Deno.FsFile;
    try {
      opened = await Deno.open(real);
    } catch {
      return text(404, "not found");
    }
    const info = await opened.stat();
    if (!info.isFile) {
      opened.close();
      return text(404, "not found");
    }
    const extension = real.split("/").at(-1)!.split(".").at(-1)!.toLowerCase();
    const headers = {
      "content-type": CONTENT_TYPES[extension] ?? "application/octet-stream",
      "content-length": String(info.size),
      "cache-control": "no-cache",
    };
    if (request.method === "HEAD") {
      opened.close();
      return new Response(null, { headers });
    }
    return new Response(opened.readable, { headers });
  };
}

/** What the command runs with. */
interface ServeStaticCommand {
  site: string;
  port: number;
}

/** Parses the command line; undefined for `--help`. */
function parseCommand(args: string[]): ServeStaticCommand | undefined {
  const { values, positionals } = parseFlags(args, FLAGS, true);
  if (values.help) return undefined;
  if (positionals.length !== 1) throw new UsageError("give one SITE folder");
  const port = parseInteger("--port", values.port, 0);
  if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
  return { site: positionals[0], port };
}

/** Serves until interrupted; returns the exit code. */
async function run(command: ServeStaticCommand): Promise<number> {
  let root: string;
  try {
    root = await Deno.realPath(command.site);
    if (!(await Deno.stat(root)).isDirectory) throw new Error("not a folder");
  } catch (error) {
    console.error(`error: ${command.site}: cannot serve it (${(error as Error).message})`);
    return 1;
  }
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: "127.0.0.1",
      port: command.port,
      onListen: ({ port }) => console.log(`serving ${command.site} at http://127.0.0.1:${port}/`),
    }, staticHandler(root));
  } catch (error) {
    console.error(`error: --port ${command.port}: ${(error as Error).message}`);
    return 1;
  }
  Deno.addSignalListener("SIGINT", () => server.shutdown());
  await server.finished;
  return 0;
}

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code: 0 stopped, 1 runtime error, 2 usage error
 */
export async function main(args: string[]): Promise<number> {
  return await runCommand(USAGE, () => parseCommand(args), run);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
