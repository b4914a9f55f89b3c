/**
 * The tagging server (lib/serve/, `deno task serve`): the micro-batcher with a fake batch
 * function; the API in-process on a free port with the shipped model (tags, offsets, 16
 * concurrent clients, model info, metrics, page; on a prediction pool, the same answers as on the
 * calling thread) and with a tiny lookup model or fake taggers
 * (limits, errors, CORS, timeouts); and the task itself as a child process (prints its URL,
 * answers, finishes an in-flight request on SIGTERM and exits 0).
 *
 * @module
 */
import { waitFor, within } from "./fixtures/wait.ts";
import { spawnServe } from "./fixtures/serve_cli.ts";
import assert from "node:assert/strict";
import "../lib/model/bilstm/mod.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { disposeLoadedModel, loadModelFolder } from "../lib/io/ensemble_folder.ts";
import { PredictPool } from "../lib/predict/pool.ts";
import { predictTexts, type TextPrediction } from "../lib/predict/predict_text.ts";
import {
  describeModel,
  MicroBatcher,
  type NerServer,
  QueueFullError,
  type ServedModel,
  type ServeOptions,
  startServer,
} from "../lib/serve/mod.ts";
import { buildLookupModel, sentencesOf, withTempDir } from "./fixtures/tiny_model/build.ts";

const ROOT = new URL("..", import.meta.url);
const MODEL_DIR = decodeURIComponent(new URL("data/model", ROOT).pathname);

await initBackend({ threads: "auto" });

/** Runs `body` against a server started on a free port, then shuts it down. */
async function withServer(
  model: ServedModel,
  options: ServeOptions,
  body: (server: NerServer) => Promise<void>,
): Promise<void> {
  const server = startServer(model, { port: 0, ...options });
  try {
    await body(server);
  } finally {
    await server.shutdown();
  }
}

/** What `POST /v1/ner` answers: documents, or an error. */
interface NerBody {
  documents: TextPrediction[];
  error: string;
}

/** POSTs a JSON body (a string is sent as is) to `/v1/ner`. */
async function postNer(
  server: NerServer,
  body: unknown,
): Promise<{ status: number; json: NerBody }> {
  const response = await fetch(`${server.url}v1/ner`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

/** Parses Prometheus text: every line checked, samples by `name{labels}`. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.split("\n").filter((l) => l !== "")) {
    const type = /^# TYPE ([a-zA-Z_:][\w:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) typed.add(type[1]);
    if (line.startsWith("#")) {
      assert.match(line, /^# (HELP|TYPE) [a-zA-Z_:][\w:]* .+$/, line);
      continue;
    }
    const match = /^([a-zA-Z_:][\w:]*)(\{(?:[a-zA-Z_]\w*="(?:[^"\\\n]|\\.)*",?)*\})? (\S+)$/
      .exec(line);
    assert.ok(match, `not a Prometheus sample: ${line}`);
    const value = match[3] === "+Inf" ? Infinity : Number(match[3]);
    assert.ok(!Number.isNaN(value), line);
    assert.ok(typed.has(match[1].replace(/_(bucket|sum|count)$/, "")) || typed.has(match[1]));
    samples.set(match[1] + (match[2] ?? ""), value);
  }
  return samples;
}

/** Fetches and parses `/metrics`. */
async function metricsOf(server: NerServer): Promise<Map<string, number>> {
  const response = await fetch(`${server.url}metrics`);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await response.text());
}

/** An hour: a batch wait that nothing in a test waits out, so only an event can start a batch. */
const AN_HOUR_MS = 3_600_000;

/** A fake prediction: no tokens, the text's length as the one entity's end. */
function fakePrediction(text: string): TextPrediction {
  return { tokens: [], entities: [{ text, type: "x", start: 0, end: text.length, score: 1 }] };
}

Deno.test("micro-batcher: requests within the wait share a call, bounds split, order kept", async () => {
  const calls: string[][] = [];
  const batcher = new MicroBatcher((items: string[]) => {
    calls.push(items);
    return items.map((item) => item.toUpperCase());
  }, { maxWaitMs: 50, maxBatchItems: 64 });
  const requests = Array.from({ length: 10 }, (_, i) => batcher.submit([`a${i}`, `b${i}`]));
  const results = await Promise.all(requests);
  assert.equal(calls.length, 1, "10 concurrent requests, one call");
  assert.deepEqual(results, Array.from({ length: 10 }, (_, i) => [`A${i}`, `B${i}`]));

  calls.length = 0;
  const small = new MicroBatcher((items: number[]) => {
    calls.push(items.map(String));
    return items.map((x) => x * 10);
  }, { maxWaitMs: 50, maxBatchItems: 4 });
  const singles = await Promise.all(Array.from({ length: 10 }, (_, i) => small.submit([i])));
  assert.deepEqual(calls.map((c) => c.length), [4, 4, 2], "max batch size splits");
  assert.deepEqual(singles, Array.from({ length: 10 }, (_, i) => [i * 10]));
  calls.length = 0;
  const big = await small.submit([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(calls.map((c) => c.length), [4, 4, 1], "a large request spans batches");
  assert.deepEqual(big, [10, 20, 30, 40, 50, 60, 70, 80, 90]);

  const weighed: string[][] = [];
  const byWeight = new MicroBatcher((items: string[]) => {
    weighed.push(items);
    return items;
  }, { maxWaitMs: 20, maxBatchWeight: 10, weigh: (s) => s.length });
  await Promise.all(
    ["aaaa", "bbbb", "cccc", "dddddddddddddddd", "e"].map((s) => byWeight.submit([s])),
  );
  assert.deepEqual(weighed, [["aaaa", "bbbb"], ["cccc"], ["dddddddddddddddd"], ["e"]]);
});

Deno.test("micro-batcher: a failing batch fails only its requests; abort, queue bound, drain", async () => {
  const batcher = new MicroBatcher((items: string[]) => {
    if (items.includes("bad")) throw new Error("boom");
    return items;
  }, { maxWaitMs: 20, maxBatchItems: 2 });
  const settled = await Promise.allSettled(["a", "bad", "c", "d"].map((x) => batcher.submit([x])));
  assert.deepEqual(settled.map((s) => s.status), [
    "rejected",
    "rejected",
    "fulfilled",
    "fulfilled",
  ]);

  let ran: string[] = [];
  const slow = new MicroBatcher((items: string[]) => {
    ran = ran.concat(items);
    return items;
  }, { maxWaitMs: AN_HOUR_MS, maxQueueItems: 3 });
  const controller = new AbortController();
  const aborted = slow.submit(["x", "y"], controller.signal);
  const kept = slow.submit(["z"]);
  await assert.rejects(slow.submit(["w"]), QueueFullError);
  controller.abort(new Error("gone"));
  await assert.rejects(aborted, /gone/);
  assert.equal(slow.queuedItems, 1, "the aborted request's items left the queue");
  assert.deepEqual(ran, [], "nothing ran before drain (the batch waits an hour)");
  // Drain resolving at all shows it ran the queue at once: its batch's own wait is an hour.
  await within(slow.drain(), "drain to run the queued request without its hour's wait");
  assert.deepEqual(ran, ["z"], "drain ran the queue");
  assert.equal(slow.queuedItems, 0);
  assert.deepEqual(await kept, ["z"]);
});

/** `/health`, `/` and `/v1/model` with the shipped model. */
async function checkInfoRoutes(server: NerServer): Promise<void> {
  const health = await fetch(`${server.url}health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "ok" });
  const page = await fetch(server.url);
  assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
  assert.match(await page.text(), /<html[\s>]/i);
  const model = await (await fetch(`${server.url}v1/model`)).json();
  assert.equal(model.scheme, "IOB2");
  const ensemble = JSON.parse(await Deno.readTextFile(`${MODEL_DIR}/ensemble.json`));
  const evaluation = JSON.parse(await Deno.readTextFile(`${MODEL_DIR}/evaluation.json`));
  assert.equal(model.members, ensemble.members.length);
  assert.ok(model.types.includes("per") && model.types.includes("geo"));
  assert.ok(!model.tags.includes("<pad>"));
  assert.equal(model.configs[0].tagger.modelType, "bilstm-crf");
  assert.equal(model.evaluation.entity.f1, evaluation.entity.f1, "the folder's evaluation.json");
  assert.ok(model.evaluation.entity.f1 >= 0.86);
}

/** The acceptance sentence, and offsets in both units after an emoji. */
async function checkTagging(server: NerServer): Promise<void> {
  const text = "Angela Merkel visited Paris.";
  const { status, json } = await postNer(server, { text });
  assert.equal(status, 200);
  const [document] = json.documents;
  assert.deepEqual(
    document.entities.map((e) => `${e.text}/${e.type}`),
    ["Angela Merkel/per", "Paris/geo"],
  );
  for (const e of document.entities) assert.equal(text.slice(e.start, e.end), e.text);
  assert.equal(document.tokens[0].tag, "B-per");
  const emoji = "👋🏽 Angela Merkel visited Paris."; // the emoji and its modifier: 4 units, 2 points
  const points = (await postNer(server, { texts: [emoji], offsets: "codepoints" })).json;
  const units = (await postNer(server, { texts: [emoji] })).json;
  const pointEntities = points.documents[0].entities;
  assert.deepEqual(pointEntities.map((e) => e.type), ["per", "geo"]);
  for (const e of pointEntities) assert.equal([...emoji].slice(e.start, e.end).join(""), e.text);
  for (const e of units.documents[0].entities) assert.equal(emoji.slice(e.start, e.end), e.text);
  assert.equal(pointEntities[0].start, 3);
  assert.equal(units.documents[0].entities[0].start, 5);
}

/** 200 requests from 16 concurrent clients: all 200, sharing batches; prints requests/s. */
async function checkConcurrency(server: NerServer): Promise<void> {
  const sentences = [
    "Angela Merkel visited Paris.",
    "The United Nations met in New York on Monday.",
    "Thousands of demonstrators marched through London to protest the war in Iraq.",
    "President Bush spoke with Russian officials in Moscow.",
  ];
  let next = 0;
  let ok = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < 200) {
      const text = sentences[next++ % sentences.length];
      const { status, json } = await postNer(server, { text });
      assert.equal(status, 200);
      assert.equal(json.documents[0].tokens.at(-1)?.text, ".");
      ok++;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  assert.equal(ok, 200);
  const metrics = await metricsOf(server);
  const batches = metrics.get("ner_batch_texts_count")!;
  const texts = metrics.get("ner_batch_texts_sum")!;
  assert.ok(texts / batches > 1, `batches hold more than one text (${texts}/${batches})`);
  assert.ok(metrics.get('ner_batch_texts_bucket{le="1"}')! < batches);
  console.log(
    `  200 requests, 16 clients: ${(200 / seconds).toFixed(1)} requests/s, ` +
      `${texts} texts in ${batches} batches`,
  );
}

/** `/metrics` after the checks above: Prometheus text with the counters. */
async function checkMetrics(server: NerServer): Promise<void> {
  const metrics = await metricsOf(server);
  const ner = 'route="/v1/ner"';
  assert.ok(metrics.get(`ner_http_requests_total{${ner},method="POST",status="200"}`)! >= 203);
  assert.equal(
    metrics.get('ner_http_requests_total{route="/health",method="GET",status="200"}'),
    1,
  );
  assert.ok(metrics.get("ner_tokens_tagged_total")! > 1000);
  assert.ok(metrics.get("ner_entities_found_total")! > 200);
  assert.ok(metrics.get(`ner_http_request_duration_seconds_bucket{${ner},le="+Inf"}`)! >= 203);
  assert.ok(metrics.has("ner_http_requests_in_flight") && metrics.has("ner_queue_texts"));
}

Deno.test("the API with the shipped model", async (t) => {
  const loaded = await loadModelFolder(MODEL_DIR);
  const served = { predictor: loaded, info: await describeModel(loaded) };
  try {
    await withServer(served, {}, async (server) => {
      await t.step("health, page, model", () => checkInfoRoutes(server));
      await t.step("tags Angela Merkel and Paris; offsets slice back", () => checkTagging(server));
      await t.step("200 requests from 16 concurrent clients", () => checkConcurrency(server));
      await t.step("/metrics parses as Prometheus text", () => checkMetrics(server));
    });
  } finally {
    disposeLoadedModel(loaded);
  }
});

Deno.test("the API tagging on a prediction pool answers what the calling thread predicts", async () => {
  const loaded = await loadModelFolder(MODEL_DIR);
  const pool = await PredictPool.create(loaded, { workers: 2 });
  const served = { predictor: pool, info: await describeModel(loaded) };
  const texts = [
    "Angela Merkel visited Paris.",
    "The United Nations met in New York on Monday. Iran said it would reply.",
    "BARACK OBAMA VISITED PARIS ON MONDAY.",
    "Thousands of demonstrators marched through London to protest the war in Iraq.",
  ];
  // All 8 texts fill one batch, which then runs (the hour's wait is never waited out), so the
  // requests share it however slowly they arrive.
  const options = { maxWaitMs: AN_HOUR_MS, maxBatchTexts: 2 * texts.length };
  try {
    await withServer(served, options, async (server) => {
      // Concurrent requests share micro-batches, which the pool splits over its two workers.
      const answers = await within(
        Promise.all([
          postNer(server, { texts }),
          ...texts.map((text) => postNer(server, { text })),
        ]),
        "the answers to 5 requests sharing one batch",
      );
      const expected = predictTexts(loaded, texts);
      assert.equal(answers[0].status, 200);
      assert.deepEqual(answers[0].json.documents, expected);
      answers.slice(1).forEach(({ status, json }, i) => {
        assert.equal(status, 200);
        assert.deepEqual(json.documents, [expected[i]], texts[i]);
      });
      const metrics = await metricsOf(server);
      assert.equal(metrics.get("ner_texts_tagged_total"), 2 * texts.length);
      assert.ok(metrics.get("ner_batch_texts_count")! < answers.length, "requests shared batches");
    });
  } finally {
    await pool.close();
    disposeLoadedModel(loaded);
  }
});

Deno.test("deno task serve --workers rejects a count that is not a positive integer, naming the flag", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "serve", "--workers", "0"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 2, stderr);
  assert.match(stderr, /--workers must be a positive integer or auto/);
  assert.doesNotMatch(stderr, /at .*\.ts:\d+/);
});

/** 413 for a 5 MB body, with a Content-Length and streamed without one. */
async function checkBodyLimit(server: NerServer): Promise<void> {
  const big = JSON.stringify({ text: "x".repeat(5_000_000) });
  assert.equal((await postNer(server, big)).status, 413);
  const stream = new Blob([big]).stream();
  const response = await fetch(`${server.url}v1/ner`, { method: "POST", body: stream });
  assert.equal(response.status, 413);
  assert.match((await response.json()).error, /limit of 1048576 bytes/);
}

/** 400 naming the field for malformed JSON and wrong shapes. */
async function checkShapes(server: NerServer): Promise<void> {
  const cases: [unknown, RegExp][] = [
    ['{"texts": [', /not valid JSON/],
    ["", /empty/],
    [[1], /JSON object/],
    [{}, /"text".*"texts"/],
    [{ texts: ["a", "b", 3] }, /^texts\[2\] must be a string$/],
    [{ texts: "a" }, /^texts must be an array/],
    [{ text: 5 }, /^text must be a string$/],
    [{ text: "a", texts: ["b"] }, /not both/],
    [{ text: "a", offsets: "bytes" }, /^offsets must be "utf16" or "codepoints"$/],
    [{ text: "a", offset: "utf16" }, /unknown field "offset"/],
  ];
  for (const [body, message] of cases) {
    const { status, json } = await postNer(server, body);
    assert.equal(status, 400, JSON.stringify(body));
    assert.match(json.error, message);
    assert.doesNotMatch(json.error, /at .*\.ts:\d+/);
  }
}

/** 413 for too many texts or a too long one; a request within the limits is tagged. */
async function checkTextLimits(server: NerServer): Promise<void> {
  const many = await postNer(server, { texts: Array(6).fill("Paris") });
  assert.equal(many.status, 413);
  assert.match(many.json.error, /6 texts; the limit is 5/);
  const long = await postNer(server, { texts: ["Paris", "x".repeat(101)] });
  assert.equal(long.status, 413);
  assert.match(long.json.error, /^texts\[1\] has 101 characters; the limit is 100$/);
  const ok = await postNer(server, { texts: ["Angela Merkel", "", "Paris"] });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json.documents.map((d) => d.entities.length), [1, 0, 1]);
}

/** 404, 405 with `Allow`, HEAD, OPTIONS, and no CORS header without `cors`. */
async function checkRouting(server: NerServer): Promise<void> {
  const missing = await fetch(`${server.url}nope`);
  assert.equal(missing.status, 404);
  assert.match((await missing.json()).error, /no route \/nope/);
  const wrong = await fetch(`${server.url}health`, { method: "DELETE" });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "GET, HEAD, OPTIONS");
  assert.match((await wrong.json()).error, /DELETE is not allowed/);
  const get = await fetch(`${server.url}v1/ner`);
  assert.equal(get.status, 405);
  assert.equal(get.headers.get("allow"), "POST, OPTIONS");
  await get.body?.cancel();
  const head = await fetch(`${server.url}health`, { method: "HEAD" });
  assert.equal(head.status, 200);
  const preflight = await fetch(`${server.url}v1/ner`, { method: "OPTIONS" });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), null);
  const health = await fetch(`${server.url}health`, { headers: { origin: "https://a.org" } });
  assert.equal(health.headers.get("access-control-allow-origin"), null);
  await health.body?.cancel();
  const model = await (await fetch(`${server.url}v1/model`)).json();
  assert.equal(model.evaluation, null, "the tiny model has no evaluation.json");
}

/** With `cors`: the preflight and every answer (errors too) carry the origin. */
async function checkCors(server: NerServer): Promise<void> {
  const preflight = await fetch(`${server.url}v1/ner`, {
    method: "OPTIONS",
    headers: { origin: "https://a.org", "access-control-request-method": "POST" },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), "https://a.org");
  assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /POST/);
  const { status } = await postNer(server, { text: "Paris" });
  assert.equal(status, 200);
  const error = await fetch(`${server.url}v1/ner`, { method: "POST", body: "{" });
  assert.equal(error.status, 400);
  assert.equal(error.headers.get("access-control-allow-origin"), "https://a.org");
  await error.body?.cancel();
}

Deno.test("limits and errors answer JSON naming the field; CORS only when asked", async (t) => {
  await withTempDir(async (dir) => {
    const lookup = { Angela: "B-per", Merkel: "I-per", in: "O", Paris: "B-geo" };
    const sentences = sentencesOf([Object.entries(lookup)]);
    const loaded = await buildLookupModel(`${dir}/model`, { sentences, lookup });
    const served = { predictor: loaded, info: await describeModel(loaded) };
    try {
      await withServer(served, { maxTexts: 5, maxTextChars: 100 }, async (server) => {
        await t.step("a 5 MB body gets 413", () => checkBodyLimit(server));
        await t.step("malformed JSON and wrong shapes get 400", () => checkShapes(server));
        await t.step("too many texts or too long a text gets 413", () => checkTextLimits(server));
        await t.step("404, 405, HEAD, OPTIONS, no CORS", () => checkRouting(server));
      });
      await t.step("CORS with cors: ORIGIN", async () => {
        await withServer(served, { cors: "https://a.org" }, checkCors);
      });
    } finally {
      disposeLoadedModel(loaded);
    }
  });
});

Deno.test("a failing batch gets 500 without its stack, logged once; a slow one gets 504", async () => {
  const logged: string[] = [];
  const failing: ServedModel = {
    predictor: () => {
      throw new Error("secret internal detail");
    },
    info: {} as ServedModel["info"],
  };
  // Three texts fill a batch, which then runs: the three requests share it however slowly they
  // arrive (the hour's wait is never waited out).
  const options = {
    log: (line: string) => logged.push(line),
    maxWaitMs: AN_HOUR_MS,
    maxBatchTexts: 3,
  };
  await withServer(failing, options, async (server) => {
    const answers = await within(
      Promise.all([1, 2, 3].map(() => postNer(server, { text: "Paris" }))),
      "the answers to 3 requests sharing one failing batch",
    );
    for (const { status, json } of answers) {
      assert.equal(status, 500);
      assert.deepEqual(json, { error: "internal error (logged on the server)" });
    }
    assert.equal(logged.length, 1, "one batch, one log entry");
    assert.match(logged[0], /batch of 3 texts failed: Error: secret internal detail\n\s+at /);
    const metrics = await metricsOf(server);
    assert.equal(metrics.get("ner_batch_failures_total"), 1);
    assert.equal(metrics.get('ner_http_errors_total{route="/v1/ner",status="500"}'), 3);
  });
  // The batch is held until the request has been answered: only the 50 ms timeout can answer it.
  const { promise: answered, resolve: release } = Promise.withResolvers<void>();
  const slow: ServedModel = {
    predictor: async (texts) => {
      await answered;
      return texts.map(fakePrediction);
    },
    info: {} as ServedModel["info"],
  };
  await withServer(slow, { timeoutMs: 50 }, async (server) => {
    try {
      const { status, json } = await within(
        postNer(server, { text: "Paris" }),
        "the answer to a request whose batch is held (its 50 ms timeout)",
      );
      assert.equal(status, 504);
      assert.match(json.error, /longer than 50 ms/);
    } finally {
      release(); // the held batch ends, so the shutdown's drain can finish
    }
  });
});

Deno.test("deno task serve prints its URL, answers, and on SIGTERM finishes in-flight work, exits 0", async () => {
  // A request waits an hour for others to share its batch, and may take an hour: only the
  // SIGTERM's drain can get it answered while the test waits.
  const hour = String(AN_HOUR_MS);
  const args = ["--port", "0", "--max-wait-ms", hour, "--timeout-ms", hour];
  const { url, pid, child, stdout, stderr } = await spawnServe(args);
  try {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal((await (await fetch(`${url}health`)).json()).status, "ok");
    const inFlight = fetch(`${url}v1/ner`, {
      method: "POST",
      body: JSON.stringify({ text: "Angela Merkel visited Paris." }),
    });
    const server = { url } as NerServer;
    await waitFor(
      "the request's text in the server's queue (ner_queue_texts 1)",
      async () => (await metricsOf(server)).get("ner_queue_texts") === 1,
    );
    // To the server itself, as a supervisor or a terminal's Ctrl-C reaches it: `deno task` does
    // not always forward a SIGTERM sent to it alone (denoland/deno#18445), leaving its child
    // running. The task then exits with its child's code.
    Deno.kill(pid, "SIGTERM");
    const response = await within(
      inFlight,
      "the queued request's answer after SIGTERM (without the drain it waits an hour)",
    );
    assert.equal(response.status, 200);
    const json = await response.json() as NerBody;
    assert.deepEqual(json.documents[0].entities.map((e) => e.type), ["per", "geo"]);
    const status = await within(child.status, "deno task serve to exit after SIGTERM");
    const errors = await stderr;
    assert.equal(status.code, 0, errors);
    assert.match(errors, /SIGTERM: stopping; finishing 1 request/);
    const cores = navigator.hardwareConcurrency || 1;
    assert.match(
      errors,
      cores >= 2
        ? new RegExp(` · ${cores} prediction workers · `)
        : / · tagging on the main thread · /,
      "by default one prediction worker per core",
    );
    assert.doesNotMatch(errors, /NotCapable|PermissionDenied|Requires \w+ access|warning/i);
    assert.match(await stdout, /^listening on http/m);
    await assert.rejects(fetch(`${url}health`));
  } catch (error) {
    // A failed check leaves no server behind.
    for (const kill of [() => Deno.kill(pid, "SIGKILL"), () => child.kill("SIGKILL")]) {
      try {
        kill();
      } catch {
        // It has exited already.
      }
    }
    await child.status;
    await Promise.allSettled([stdout, stderr]);
    throw error;
  }
});
