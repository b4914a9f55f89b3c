/**
 * The server's header guard (lib/serve/_header_guard.ts): a connection must deliver its request
 * head (request line and headers) within `headerTimeoutMs` and `maxHeaderBytes`, else 408 or 431
 * and the connection closed; complete requests still work (keep-alive clients, POST bodies,
 * streamed bodies, heads split byte by byte); a shutdown closes connections stuck in their head
 * and finishes. `deno task serve --header-timeout-ms` names the flag when it is wrong.
 *
 * Nothing here waits for time to pass to make something happen, and nothing asserts a duration:
 * each wait is for an event (a response, the connection's end) under a hang guard. The 408 comes
 * from the server's own short timer.
 *
 * @module
 */
import { waitFor, within } from "./fixtures/wait.ts";
import assert from "node:assert/strict";
import type { TextPrediction } from "../lib/predict/predict_text.ts";
import { type NerServer, type ServeOptions, startServer } from "../lib/serve/mod.ts";
import { HeadScanner } from "../lib/serve/_header_guard.ts";

const ROOT = new URL("..", import.meta.url);

/** An hour: a timeout that no test waits out. */
const AN_HOUR_MS = 3_600_000;

/** A server with a fake tagger (each text: one entity spanning it), on a free port. */
function fakeServer(options: ServeOptions): NerServer {
  const tag = (texts: string[]) =>
    texts.map((text): TextPrediction => ({
      tokens: [],
      entities: [{ text, type: "x", start: 0, end: text.length, score: 1 }],
    }));
  return startServer({ predictor: tag, info: {} as never }, { port: 0, log: () => {}, ...options });
}

/** Runs `body` with a fake server, then shuts it down and waits for it to finish. */
async function withFakeServer(
  options: ServeOptions,
  body: (server: NerServer) => Promise<void>,
): Promise<void> {
  const server = fakeServer(options);
  try {
    await body(server);
  } finally {
    await server.shutdown();
  }
}

/** Opens a raw connection to the server and sends `text`. */
async function send(server: NerServer, text: string): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await conn.write(new TextEncoder().encode(text));
  return conn;
}

/** Reads a connection until the server closes it; the text received. */
async function readToEnd(conn: Deno.Conn): Promise<string> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(4096);
  let text = "";
  for (let n; (n = await conn.read(buffer)) !== null;) {
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
  }
  return text + decoder.decode();
}

/** A raw HTTP/1.1 response: status, headers, body. */
function parseResponse(text: string): { status: number; headers: Headers; body: string } {
  const end = text.indexOf("\r\n\r\n");
  assert.ok(end > 0, `not an HTTP response: ${JSON.stringify(text)}`);
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const headers = new Headers(lines.map((line) => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()] as [string, string];
  }));
  return { status: Number(statusLine.split(" ")[1]), headers, body: text.slice(end + 4) };
}

Deno.test("the head scanner finds the blank line however the head is split", () => {
  const cases: [string, number][] = [
    ["GET / HTTP/1.1\r\nHost: x\r\n\r\n", 25],
    ["GET / HTTP/1.1\nHost: x\n\n", 23],
    ["\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 29], // empty lines before the request line
    ["GET / HTTP/1.0\r\n\r\n", 16],
  ];
  for (const [head, blank] of cases) {
    const bytes = new TextEncoder().encode(`${head}{"body": 1}`);
    for (let split = 0; split <= bytes.length; split++) {
      const scanner = new HeadScanner();
      const first = scanner.scan(bytes.subarray(0, split));
      const found = first ?? scanner.scan(bytes);
      assert.deepEqual(found, { blank, length: head.length }, `${JSON.stringify(head)} @${split}`);
    }
    const byByte = new HeadScanner();
    let found;
    for (let i = 1; i <= bytes.length && found === undefined; i++) {
      found = byByte.scan(bytes.subarray(0, i));
    }
    assert.deepEqual(found, { blank, length: head.length }, `${JSON.stringify(head)} by byte`);
  }
  assert.equal(
    new HeadScanner().scan(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n")),
    undefined,
  );
});

Deno.test("a connection that never ends its head gets 408 and is closed", async () => {
  await withFakeServer({ headerTimeoutMs: 300 }, async (server) => {
    const conn = await send(server, "GET /health HTTP/1.1\r\nHost: x\r\n");
    try {
      // The server's own 300 ms timer ends the wait; the guard only catches a hang.
      const text = await within(readToEnd(conn), "the 408 and the connection's end");
      const response = parseResponse(text);
      assert.equal(response.status, 408);
      assert.equal(response.headers.get("connection"), "close");
      assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
      assert.deepEqual(JSON.parse(response.body), {
        error: "the request head did not arrive within 300 ms",
      });
      assert.equal(server.metrics.refused.get({ status: "408" }), 1);
      const metrics = await (await fetch(`${server.url}metrics`)).text();
      assert.match(metrics, /^ner_http_connections_refused_total\{status="408"\} 1$/m);
    } finally {
      conn.close();
    }
  });
});

Deno.test("a head over the size limit gets 431 and is closed; one within it is answered", async () => {
  await withFakeServer({ maxHeaderBytes: 1024, headerTimeoutMs: AN_HOUR_MS }, async (server) => {
    // No blank line yet, and more than the limit: refused before the head ends.
    const big = `GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: ${"a".repeat(3000)}\r\n`;
    const conn = await send(server, big);
    try {
      const response = parseResponse(await within(readToEnd(conn), "the 431"));
      assert.equal(response.status, 431);
      assert.deepEqual(JSON.parse(response.body), {
        error: "the request head is larger than the limit of 1024 bytes",
      });
      assert.equal(server.metrics.refused.get({ status: "431" }), 1);
    } finally {
      conn.close();
    }
    const fits = `GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: ${"a".repeat(900)}\r\n\r\n`;
    const ok = await send(server, fits);
    try {
      const response = parseResponse(await within(readToEnd(ok), "the answer to a head in size"));
      assert.equal(response.status, 200);
      assert.deepEqual(JSON.parse(response.body), { status: "ok" });
    } finally {
      ok.close();
    }
  });
});

Deno.test("complete requests pass the guard: keep-alive clients, POST bodies, heads sent byte by byte", async () => {
  await withFakeServer({ headerTimeoutMs: AN_HOUR_MS }, async (server) => {
    // fetch keeps connections alive; each answer closes its connection and fetch opens another.
    const client = Deno.createHttpClient({});
    try {
      for (let i = 0; i < 5; i++) {
        const response = await fetch(`${server.url}v1/ner`, {
          client,
          method: "POST",
          body: JSON.stringify({ texts: [`text ${i}`, "Paris"] }),
        });
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("connection"), "close");
        const json = await response.json();
        assert.deepEqual(json.documents.map((d: TextPrediction) => d.entities[0].end), [6, 5]);
      }
      const health = await fetch(`${server.url}health`, { client, method: "HEAD" });
      assert.equal(health.status, 200);
      assert.ok(Number(health.headers.get("content-length")) > 2);
      await health.body?.cancel();
    } finally {
      client.close();
    }
    // A body streamed without a length (chunked), bigger than one read.
    const text = "word ".repeat(20_000);
    const stream = new Blob([JSON.stringify({ text })]).stream();
    const streamed = await fetch(`${server.url}v1/ner`, { method: "POST", body: stream });
    assert.equal(streamed.status, 200);
    assert.equal((await streamed.json()).documents[0].entities[0].end, text.length);
    // The head and body a byte at a time.
    const body = JSON.stringify({ text: "Paris" });
    const request =
      `POST /v1/ner HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    try {
      for (const byte of new TextEncoder().encode(request)) await conn.write(Uint8Array.of(byte));
      const response = parseResponse(await within(readToEnd(conn), "the answer, byte by byte"));
      assert.equal(response.status, 200);
      assert.equal(JSON.parse(response.body).documents[0].entities[0].text, "Paris");
    } finally {
      conn.close();
    }
    assert.equal(server.metrics.refused.get({ status: "408" }), 0);
  });
});

Deno.test("a shutdown closes connections stuck in their head and finishes", async () => {
  const server = fakeServer({ headerTimeoutMs: AN_HOUR_MS });
  const stuck = await send(server, "POST /v1/ner HTTP/1.1\r\nHost: x\r\nContent-Le");
  try {
    // Answered before the shutdown: the guard is past the stuck connection's accept.
    assert.equal((await fetch(`${server.url}health`)).status, 200);
    await within(server.shutdown(), "the shutdown with a connection stuck in its head");
    assert.equal(await within(readToEnd(stuck), "the stuck connection's end"), "");
    // The client never closed its socket: the server closed it, and so finished.
    await within(server.finished, "the server to finish");
    await assert.rejects(fetch(`${server.url}health`));
  } finally {
    stuck.close();
  }
});

Deno.test("a shutdown closes, after its grace, a connection whose client keeps it open once answered", async () => {
  const server = fakeServer({ headerTimeoutMs: AN_HOUR_MS, shutdownGraceMs: 50 });
  // A body that never ends: the shutdown cuts it off and answers 503.
  const upload = await send(
    server,
    'POST /v1/ner HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"text": "Pa',
  );
  try {
    await waitFor(
      "the upload in the handler",
      () => Promise.resolve(server.metrics.inFlight.get() === 1),
    );
    const stopped = server.shutdown();
    // The client never closes its socket: the server does, once the grace has passed.
    const response = parseResponse(await within(readToEnd(upload), "the 503 and the close"));
    assert.equal(response.status, 503);
    await within(stopped, "the shutdown");
    await within(server.finished, "the server to finish with the client's socket open");
  } finally {
    upload.close();
  }
});

Deno.test("deno task serve --header-timeout-ms rejects what is not a timer's positive integer, naming the flag", async () => {
  for (
    const [value, message] of [
      ["0", /--header-timeout-ms must be a positive integer, got "0"/],
      ["ten", /--header-timeout-ms must be a positive integer, got "ten"/],
      ["3000000000", /--header-timeout-ms must be at most 2147483647 \(about 24\.8 days\)/],
    ] as const
  ) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["task", "serve", "--header-timeout-ms", value],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 2, stderr);
    assert.match(stderr, message);
    assert.doesNotMatch(stderr, /at .*\.ts:\d+/);
  }
});
