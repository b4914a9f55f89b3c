/**
 * The tagging server heals and ends cleanly: a prediction-pool worker that dies is replaced
 * (`/health` answers 503 naming it until then, requests are still answered, the restart is
 * counted in `/metrics`), a chunk whose worker died is tagged again (once), a request body that
 * stalls gets 408, a shutdown during an upload answers 503 without a stack in the log (in process
 * and as `deno task serve` on SIGTERM), and `HEAD /health` carries the length of `GET`'s body.
 *
 * The pool runs real workers (two) over a tiny lookup model (tests/fixtures/tiny_model/).
 * Nothing here waits for time to pass to make something happen: every wait is for an event (a
 * response, a log line, a state seen through `/health` or `/metrics`) under a hang guard.
 *
 * @module
 */
import { waitFor, within } from "../fixtures/wait.ts";
import { spawnServe } from "../fixtures/serve_cli.ts";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { disposeLoadedModel, type LoadedModel } from "../../lib/io/ensemble_folder.ts";
import { PredictPool, WorkerDiedError } from "../../lib/predict/pool.ts";
import { predictTexts, type TextPrediction } from "../../lib/predict/predict_text.ts";
import {
  describeModel,
  type NerServer,
  type ServeOptions,
  startServer,
} from "../../lib/serve/mod.ts";
import { buildLookupModel, sentencesOf, withTempDir } from "../fixtures/tiny_model/build.ts";

await initBackend({ threads: 1 });

/** The tiny model's words and their tags. */
const LOOKUP = { Angela: "B-per", Merkel: "I-per", in: "O", Paris: "B-geo" };

/** A text with both entity types, and what the tiny model finds in it. */
const TEXT = "Angela Merkel in Paris";
const ENTITIES = ["Angela Merkel/per", "Paris/geo"];

/** Builds the tiny lookup model in a temp dir and runs `body` with it (and its folder). */
async function withTinyModel(body: (loaded: LoadedModel, dir: string) => Promise<void>) {
  await withTempDir(async (dir) => {
    const sentences = sentencesOf([Object.entries(LOOKUP)]);
    const loaded = await buildLookupModel(`${dir}/model`, { sentences, lookup: LOOKUP });
    try {
      await body(loaded, `${dir}/model`);
    } finally {
      disposeLoadedModel(loaded);
    }
  });
}

/** `type/text` of each entity of a document. */
function entitiesOf(document: TextPrediction): string[] {
  return document.entities.map((e) => `${e.text}/${e.type}`);
}

/** POSTs `{"text": text}` to `/v1/ner`. */
async function postText(url: string, text: string) {
  const response = await fetch(`${url}v1/ner`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text }),
  });
  return { status: response.status, json: await response.json() };
}

/** `GET /health`: its status and body. */
async function health(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}health`);
  return { status: response.status, json: await response.json() };
}

/** Samples of `/metrics` by `name{labels}` (the format itself is checked in serve_test.ts). */
async function metricsOf(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*(?:\{.*\})?) (\S+)$/.exec(line);
    if (match) samples.set(match[1], Number(match[2]));
  }
  return samples;
}

/** A stack trace line, as `Error.stack` and Deno's uncaught-error report write them. */
const STACK_LINE = /^\s+at .*(\.ts|\.js|ext:)/m;

Deno.test("a killed pool worker: /health 503 naming it until replaced, then ok; requests answered meanwhile and after; the restart counted", async () => {
  await withTinyModel(async (loaded) => {
    const logged: string[] = [];
    const pool = await PredictPool.create(loaded, { workers: 2, log: (m) => logged.push(m) });
    const server = startServer(
      { predictor: pool, info: await describeModel(loaded) },
      { port: 0, log: (m) => logged.push(m) },
    );
    const { promise: hold, resolve: release } = Promise.withResolvers<void>();
    try {
      assert.deepEqual(await health(server.url), { status: 200, json: { status: "ok" } });
      const before = await postText(server.url, TEXT);
      assert.equal(before.status, 200);
      assert.deepEqual(entitiesOf(before.json.documents[0]), ENTITIES);

      // The replacement waits for `release`: the test sees the pool while the worker is down.
      pool.killWorkerForTest(0, { holdReplacement: hold });
      const down = await health(server.url);
      assert.equal(down.status, 503, "unhealthy while a worker is down");
      assert.equal(down.json.status, "unhealthy");
      assert.match(
        String(down.json.reason),
        /^prediction worker 1 of 2 died \(killed by killWorkerForTest\); a replacement is starting$/,
      );
      assert.deepEqual(down.json.workers, { total: 2, ready: 1 });
      const outage = await metricsOf(server.url);
      assert.equal(outage.get("ner_pool_workers_ready"), 1);

      // The other worker tags meanwhile.
      const during = await within(postText(server.url, TEXT), "an answer while a worker is down");
      assert.equal(during.status, 200);
      assert.deepEqual(entitiesOf(during.json.documents[0]), ENTITIES);

      release();
      await waitFor("/health to answer ok once the replacement is ready", async () => {
        const { status, json } = await health(server.url);
        return status === 200 && json.status === "ok";
      });
      const texts = ["Paris in Angela", TEXT, "Merkel Merkel in Paris", TEXT];
      const after = await within(
        Promise.all(texts.map((text) => postText(server.url, text))),
        "answers after the replacement",
      );
      const expected = predictTexts(loaded, texts);
      after.forEach(({ status, json }, i) => {
        assert.equal(status, 200, texts[i]);
        assert.deepEqual(json.documents, [expected[i]], texts[i]);
      });
      const metrics = await metricsOf(server.url);
      assert.equal(metrics.get("ner_pool_worker_restarts_total"), 1);
      assert.equal(metrics.get("ner_pool_workers_ready"), 2);
      assert.equal(metrics.get('ner_http_errors_total{route="/v1/ner",status="500"}'), undefined);
      assert.deepEqual(logged, [
        "prediction worker 1 of 2 died (killed by killWorkerForTest); starting a replacement",
        "prediction worker 1 of 2 replaced",
      ]);
    } finally {
      release();
      await server.shutdown();
      await pool.close();
    }
  });
});

Deno.test("a pool worker killed mid-chunk: the chunk is tagged again; a chunk whose retry dies too fails only its call; the pool heals", async () => {
  await withTinyModel(async (loaded) => {
    const logged: string[] = [];
    const pool = await PredictPool.create(loaded, { workers: 2, log: (m) => logged.push(m) });
    const healthy = () =>
      waitFor("the pool to be healthy again", () => Promise.resolve(pool.health().healthy));
    try {
      const texts = Array.from({ length: 8 }, (_, i) => i % 2 ? TEXT : "Paris in Paris");
      const expected = predictTexts(loaded, texts);
      // Both workers hold a chunk as soon as the call returns its promise: kill one of them.
      const tagging = pool.predictTexts(texts);
      pool.killWorkerForTest(0);
      assert.deepEqual(await within(tagging, "the call whose worker died"), expected);
      await healthy();

      // One text, one chunk: on worker 1, then (retried) on worker 2; both die.
      const poisoned = pool.predictTexts([TEXT]);
      pool.killWorkerForTest(0);
      pool.killWorkerForTest(1);
      await within(
        assert.rejects(poisoned, (error: unknown) => {
          assert.ok(error instanceof WorkerDiedError);
          assert.match(error.message, /^prediction worker 2 of 2 died \(killed by/);
          return true;
        }),
        "the call whose chunk lost two workers",
      );
      assert.match(pool.health().reason ?? "", /worker 1 of 2 died .*; prediction worker 2 of 2/);
      await healthy();
      assert.deepEqual(
        await within(pool.predictTexts(texts), "a call after"),
        expected,
      );
      assert.equal(pool.restarts, 3);
      assert.deepEqual(pool.health(), { healthy: true, workers: 2, ready: 2 });
      for (const line of logged) assert.doesNotMatch(line, STACK_LINE);
    } finally {
      await pool.close();
    }
    assert.equal(pool.health().healthy, false, "a closed pool is not healthy");
  });
});

Deno.test("a request whose chunk lost two pool workers gets 503 (retry) with a one-line log; the next is answered", async () => {
  await withTinyModel(async (loaded) => {
    const logged: string[] = [];
    const pool = await PredictPool.create(loaded, { workers: 2, log: (m) => logged.push(m) });
    let poison = true;
    // Tags on the pool; the first batch's one chunk loses its worker and then its retry's.
    const tag = (texts: string[]) => {
      const tagging = pool.predictTexts(texts);
      if (poison) {
        poison = false;
        pool.killWorkerForTest(0);
        pool.killWorkerForTest(1);
      }
      return tagging;
    };
    const server = startServer(
      { predictor: tag, info: await describeModel(loaded) },
      { port: 0, log: (m) => logged.push(m) },
    );
    try {
      const failed = await within(postText(server.url, TEXT), "the answer to the poisoned batch");
      assert.equal(failed.status, 503);
      assert.deepEqual(failed.json, {
        error: "a prediction worker failed while tagging this request; retry",
      });
      await waitFor("the pool to be healthy again", () => Promise.resolve(pool.health().healthy));
      const next = await within(postText(server.url, TEXT), "the next answer");
      assert.equal(next.status, 200);
      assert.deepEqual(entitiesOf(next.json.documents[0]), ENTITIES);
      const batchLog = logged.filter((line) => line.startsWith("error: tagging a batch"));
      assert.deepEqual(batchLog, [
        "error: tagging a batch of 1 texts failed: prediction worker 2 of 2 died " +
        "(killed by killWorkerForTest)",
      ]);
      for (const line of logged) assert.doesNotMatch(line, STACK_LINE);
    } finally {
      await server.shutdown();
      await pool.close();
    }
  });
});

/** A server with a fake tagger (every text: no entities), on a free port. */
function fakeServer(options: ServeOptions): NerServer {
  const tag = (texts: string[]) => texts.map((): TextPrediction => ({ tokens: [], entities: [] }));
  return startServer({ predictor: tag, info: {} as never }, { port: 0, ...options });
}

/** An HTTP/1.1 response read off a raw connection. */
interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

/** Reads one response with a `Content-Length` off a raw connection. */
async function readResponse(conn: Deno.Conn): Promise<RawResponse> {
  let bytes = new Uint8Array(0);
  const buffer = new Uint8Array(4096);
  while (true) {
    const text = new TextDecoder().decode(bytes);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
      const headers = new Headers(lines.map((line) => {
        const colon = line.indexOf(":");
        return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()] as [string, string];
      }));
      const length = Number(headers.get("content-length") ?? 0);
      if (bytes.length >= end + 4 + length) {
        const body = new TextDecoder().decode(bytes.subarray(end + 4, end + 4 + length));
        return { status: Number(statusLine.split(" ")[1]), headers, body };
      }
    }
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`the connection closed after ${JSON.stringify(text)}`);
    const grown = new Uint8Array(bytes.length + n);
    grown.set(bytes);
    grown.set(buffer.subarray(0, n), bytes.length);
    bytes = grown;
  }
}

/** Opens a connection and sends the headers of a 100-byte body and its first 13 bytes. */
async function startUpload(port: number): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = "POST /v1/ner HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
    "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n";
  await conn.write(new TextEncoder().encode(head + '{"text": "Pa'));
  return conn;
}

Deno.test("a request body that stalls mid-upload gets 408 after bodyTimeoutMs, as JSON, logged nowhere", async () => {
  const logged: string[] = [];
  const server = fakeServer({ bodyTimeoutMs: 200, log: (m) => logged.push(m) });
  let conn: Deno.Conn | undefined;
  try {
    conn = await startUpload(server.port);
    // The server's own 200 ms timer ends the wait; the guard only catches a hang.
    const response = await within(readResponse(conn), "the answer to a stalled upload");
    assert.equal(response.status, 408);
    assert.equal(response.headers.get("connection"), "close");
    assert.deepEqual(JSON.parse(response.body), {
      error: "the request body did not arrive within 200 ms",
    });
    assert.deepEqual(logged, []);
    assert.equal(server.metrics.errors.get({ route: "/v1/ner", status: "408" }), 1);
  } finally {
    conn?.close();
    await server.shutdown();
  }
});

Deno.test("a shutdown while a body uploads answers it 503 as JSON without a stack, and ends", async () => {
  const logged: string[] = [];
  const server = fakeServer({ log: (m) => logged.push(m), shutdownGraceMs: 50 });
  const conn = await startUpload(server.port);
  try {
    await waitFor(
      "the upload's request in the handler",
      () => Promise.resolve(server.metrics.inFlight.get() === 1),
    );
    // The client keeps its socket open: the shutdown resolves once every request is answered
    // (and its short grace for the connections left has passed).
    const stopped = server.shutdown();
    const response = await within(readResponse(conn), "the answer to the cut-off upload");
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("retry-after"), "1");
    assert.deepEqual(JSON.parse(response.body), {
      error: "the server is shutting down; send the request again",
    });
    await within(stopped, "the shutdown, with a client's socket left open");
    assert.deepEqual(logged, []);
  } finally {
    conn.close();
    await server.shutdown();
    await within(server.finished, "the server to finish once the client is gone");
  }
});

Deno.test("HEAD /health answers GET's headers with the length of its body, and no body", async () => {
  await withTinyModel(async (loaded) => {
    const pool = await PredictPool.create(loaded, { workers: 2, log: () => {} });
    const server = startServer(
      { predictor: pool, info: await describeModel(loaded) },
      { port: 0, log: () => {} },
    );
    const { promise: hold, resolve: release } = Promise.withResolvers<void>();
    try {
      const check = async (status: number) => {
        const get = await fetch(`${server.url}health`);
        const bytes = (await get.bytes()).length;
        const head = await fetch(`${server.url}health`, { method: "HEAD" });
        assert.equal(get.status, status);
        assert.equal(head.status, status);
        assert.equal(head.headers.get("content-length"), String(bytes));
        assert.ok(bytes > 2);
        for (const name of ["content-type", "cache-control", "retry-after"]) {
          assert.equal(head.headers.get(name), get.headers.get(name), name);
        }
        assert.equal((await head.bytes()).length, 0);
      };
      await check(200);
      pool.killWorkerForTest(1, { holdReplacement: hold });
      await check(503);
    } finally {
      release();
      await server.shutdown();
      await pool.close();
    }
  });
});

Deno.test("deno task serve on SIGTERM during an upload answers it 503 as JSON, logs no stack, exits 0", async () => {
  await withTinyModel(async (_, modelDir) => {
    const { url, pid, child, stdout, stderr } = await spawnServe([
      "--model",
      modelDir,
      "--port",
      "0",
      "--workers",
      "2",
    ]);
    let conn: Deno.Conn | undefined;
    try {
      conn = await startUpload(Number(new URL(url).port));
      // In flight: the upload's request, and the /metrics request that reads the gauge.
      await waitFor(
        "the upload's request in the handler",
        async () => (await metricsOf(url)).get("ner_http_requests_in_flight") === 2,
      );
      Deno.kill(pid, "SIGTERM");
      const response = await within(readResponse(conn), "the answer to the cut-off upload");
      assert.equal(response.status, 503);
      assert.deepEqual(JSON.parse(response.body), {
        error: "the server is shutting down; send the request again",
      });
      // The client keeps its socket open; the server exits all the same.
      const status = await within(child.status, "deno task serve to exit after SIGTERM");
      const errors = await stderr;
      assert.equal(status.code, 0, errors);
      assert.match(errors, /SIGTERM: stopping; finishing 1 request/);
      assert.doesNotMatch(errors, /BadResource|error:/);
      assert.doesNotMatch(errors, STACK_LINE);
      await stdout;
    } catch (error) {
      // pid 0 would be this process's group: only a server that named itself is killed.
      const kills = [() => pid > 0 && Deno.kill(pid, "SIGKILL"), () => child.kill("SIGKILL")];
      for (const kill of kills) {
        try {
          kill();
        } catch {
          // It has exited already.
        }
      }
      await child.status;
      await Promise.allSettled([stdout, stderr]);
      throw error;
    } finally {
      conn?.close();
    }
  });
});
