/**
 * The header guard in front of the server's `Deno.serve`. `Deno.serve` (Deno 2.9) has no limit
 * on the time a client may take to send its request head: a connection that sends
 * `GET / HTTP/1.1\r\nHost: x\r\n` and never the blank line after it is held open for good. So the
 * public port is a plain TCP listener of ours, and every connection it accepts must deliver a
 * complete request head (the request line and headers, up to the blank line) within
 * `headerTimeoutMs` and in at most `maxHeaderBytes`; otherwise it is answered
 * `408 Request Timeout` or `431 Request Header Fields Too Large` (JSON `{"error"}`,
 * `Connection: close`) and closed.
 *
 * A complete head goes, with `Connection: close` appended to its headers, to the real server on a
 * loopback port (`upstream`), followed by whatever the client sends next; the server's answer
 * comes back the same way. Each direction reads only once the previous chunk has been written
 * (backpressure); a client that half-closes (ends its upload) half-closes the connection to the
 * server, and a client that resets its connection resets the server's. The appended
 * `Connection: close` makes the server answer one request per connection (with
 * `Connection: close`, so a keep-alive client opens a new connection for its next request):
 * every request's head passes the guard. Once the answer has been sent, what the client still
 * uploads is read and dropped for up to `lingerMs` before the connection is closed, so that
 * closing with unread data does not reset the answer away.
 *
 * The server behind the guard sees every request come from 127.0.0.1 (the guard's own
 * connection); nothing in this server uses the client's address.
 *
 * @module
 */

const CR = 13;
const LF = 10;

/**
 * The first read of a connection's head: most heads (and small bodies) fit. The buffer doubles
 * up to the cap when they do not; a connection waiting for its head holds no more.
 */
const FIRST_READ_BYTES = 4 * 1024;

/** Bytes read at a time while relaying. */
const CHUNK_BYTES = 16 * 1024;

/** The header appended to each head so that the server answers one request per connection. */
const CONNECTION_CLOSE = new TextEncoder().encode("Connection: close\r\n");

/** Where a request head ends within the bytes received so far. */
export interface HeadEnd {
  /** Index of the blank line that ends the head (after the last header line's LF). */
  blank: number;
  /** The head's length in bytes, its blank line included. */
  length: number;
}

/**
 * Finds the blank line that ends an HTTP/1.1 request head as its bytes arrive, looking at each
 * byte once however the head is split. Lines may end in CRLF or a bare LF (as the server's
 * parser accepts), and empty lines before the request line are skipped (RFC 9112, section 2.2).
 *
 * @example
 * ```ts
 * import { HeadScanner } from "./_header_guard.ts";
 * const scanner = new HeadScanner();
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody");
 * scanner.scan(bytes.subarray(0, 20)); // undefined: not yet
 * scanner.scan(bytes); // { blank: 25, length: 27 }
 * ```
 */
export class HeadScanner {
  /** Bytes before this index have been looked at. */
  #scanned = 0;
  /** Whether the request line has begun (past any leading empty lines). */
  #started = false;

  /**
   * Looks at the bytes not seen yet.
   *
   * @param bytes everything received so far (the bytes of earlier calls first, unchanged)
   * @returns where the head ends, or undefined while it has not ended
   */
  scan(bytes: Uint8Array): HeadEnd | undefined {
    let i = this.#scanned;
    if (!this.#started) {
      while (i < bytes.length && (bytes[i] === CR || bytes[i] === LF)) i++;
      this.#started = i < bytes.length;
    }
    for (; i < bytes.length; i++) {
      if (bytes[i] !== LF) continue;
      if (i + 1 >= bytes.length) break; // the next byte decides
      if (bytes[i + 1] === LF) return { blank: i + 1, length: i + 2 };
      if (bytes[i + 1] !== CR) continue;
      if (i + 2 >= bytes.length) break;
      if (bytes[i + 2] === LF) return { blank: i + 1, length: i + 3 };
    }
    this.#scanned = i;
    return undefined;
  }
}

/** Options of {@linkcode guardHeaders}. */
export interface HeaderGuardOptions {
  /** The server the guarded connections are passed to (e.g. `Deno.serve` on 127.0.0.1:0). */
  upstream: { hostname: string; port: number };
  /** Time from a connection's accept to the end of its request head, in ms (408 beyond). */
  headerTimeoutMs: number;
  /** Largest request head, in bytes, its blank line included (431 beyond). */
  maxHeaderBytes: number;
  /**
   * How long a connection whose answer has been sent is still read (and what arrives dropped)
   * before it is closed, in ms. Default 2,000.
   */
  lingerMs?: number;
  /** Called with the status of each connection refused (408 or 431). */
  onRefused?: (status: 408 | 431) => void;
  /** Where unexpected errors (failing to accept a connection) are logged. */
  log?: (message: string) => void;
}

/** A running guard. */
export interface HeaderGuard {
  /**
   * Stops accepting connections (closes the listener) and closes those still waiting for their
   * request head; connections past it go on until their answer has been sent.
   */
  close(): void;
  /**
   * Closes the listener and every connection it accepted, answered or not (e.g. those a shutdown
   * has waited for long enough).
   */
  closeAll(): void;
  /** Resolves once the listener has closed and every connection it accepted has ended. */
  readonly finished: Promise<void>;
}

/** Closes a connection, once: closing one already closed is not an error here. */
function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/** Writes all of `bytes` (one write may take only part). */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
}

/** A complete JSON error response that closes the connection. */
function errorBytes(status: number, reason: string, message: string): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify({ error: message }));
  const head = `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${body.length}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n`;
  const bytes = new TextEncoder().encode(head);
  const response = new Uint8Array(bytes.length + body.length);
  response.set(bytes);
  response.set(body, bytes.length);
  return response;
}

/**
 * Sends `response` (when given), ends the connection's sending side, then reads and drops what
 * the client still sends until it closes or `lingerMs` has passed, and closes the connection.
 * `pending` is a read already under way (it is waited for first: two reads never overlap).
 */
async function answerAndClose(
  conn: Deno.Conn,
  response: Uint8Array | null,
  lingerMs: number,
  pending?: Promise<number | null>,
): Promise<void> {
  const timer = setTimeout(() => closeQuietly(conn), lingerMs);
  try {
    if (response !== null) await writeAll(conn, response);
    await conn.closeWrite();
    if (pending !== undefined && (await pending) === null) return;
    const sink = new Uint8Array(CHUNK_BYTES);
    while ((await conn.read(sink)) !== null) {
      // dropped
    }
  } catch {
    // the client went away, or the linger ended: closed below
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}

/** What waiting for a request head ended with. */
type HeadResult =
  | { kind: "head"; bytes: Uint8Array; end: HeadEnd }
  | { kind: "timeout"; pending: Promise<number | null> }
  | { kind: "too-large" }
  | { kind: "closed" };

/** Reads until the request head has ended, or the time or size limit is reached. */
async function readHead(conn: Deno.Conn, options: HeaderGuardOptions): Promise<HeadResult> {
  const { headerTimeoutMs, maxHeaderBytes } = options;
  let buffer = new Uint8Array(Math.min(FIRST_READ_BYTES, maxHeaderBytes));
  let filled = 0;
  const scanner = new HeadScanner();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) => {
    timer = setTimeout(() => resolve("expired"), headerTimeoutMs);
  });
  try {
    while (true) {
      if (filled === buffer.length) {
        if (filled >= maxHeaderBytes) return { kind: "too-large" };
        const grown = new Uint8Array(Math.min(2 * buffer.length, maxHeaderBytes));
        grown.set(buffer);
        buffer = grown;
      }
      const reading = conn.read(buffer.subarray(filled));
      const read = await Promise.race([reading, expired]);
      if (read === "expired") {
        const pending = reading.catch(() => null);
        return { kind: "timeout", pending };
      }
      if (read === null) return { kind: "closed" };
      filled += read;
      const end = scanner.scan(buffer.subarray(0, filled));
      if (end !== undefined) return { kind: "head", bytes: buffer.subarray(0, filled), end };
    }
  } catch {
    return { kind: "closed" }; // reset by the client, or closed by a shutdown
  } finally {
    clearTimeout(timer);
  }
}

/** The head with `Connection: close` as its last header, and the bytes received after it. */
function withConnectionClose(bytes: Uint8Array, end: HeadEnd): Uint8Array {
  const out = new Uint8Array(bytes.length + CONNECTION_CLOSE.length);
  out.set(bytes.subarray(0, end.blank));
  out.set(CONNECTION_CLOSE, end.blank);
  out.set(bytes.subarray(end.blank), end.blank + CONNECTION_CLOSE.length);
  return out;
}

/**
 * Relays bytes both ways between a client and the server until the server's answer has ended
 * (then lingers on the client, see {@linkcode answerAndClose}) or either side fails (then both are
 * closed, which the server sees as the client leaving).
 */
async function relay(client: Deno.Conn, server: Deno.Conn, lingerMs: number): Promise<void> {
  let toServer = true; // whether the client's bytes still go to the server
  const upload = (async () => {
    const buffer = new Uint8Array(CHUNK_BYTES);
    try {
      for (let n; (n = await client.read(buffer)) !== null;) {
        if (!toServer) continue; // the server stopped reading: the rest is dropped
        await writeAll(server, buffer.subarray(0, n)).catch(() => (toServer = false));
      }
      if (toServer) await server.closeWrite().catch(() => {}); // the client's half-close, passed on
    } catch {
      closeQuietly(server); // the client reset its connection (or it was closed here)
    }
  })();
  let answered = true;
  const buffer = new Uint8Array(CHUNK_BYTES);
  try {
    for (let n; (n = await server.read(buffer)) !== null;) {
      await writeAll(client, buffer.subarray(0, n));
    }
  } catch {
    answered = false;
  }
  toServer = false;
  closeQuietly(server);
  if (!answered) closeQuietly(client);
  else {
    // The answer is complete: end the client's side and drop its remaining upload a while.
    const timer = setTimeout(() => closeQuietly(client), lingerMs);
    await client.closeWrite().catch(() => closeQuietly(client));
    await upload;
    clearTimeout(timer);
    closeQuietly(client);
  }
  await upload;
}

/** The answer to a connection whose head did not arrive in time (408) or was too large (431). */
function refusal(status: 408 | 431, options: HeaderGuardOptions): Uint8Array {
  return status === 408
    ? errorBytes(
      408,
      "Request Timeout",
      `the request head did not arrive within ${options.headerTimeoutMs} ms`,
    )
    : errorBytes(
      431,
      "Request Header Fields Too Large",
      `the request head is larger than the limit of ${options.maxHeaderBytes} bytes`,
    );
}

/**
 * Serves one accepted connection: waits for its head (listed in `waiting` meanwhile, where a
 * shutdown finds it), then refuses it or relays it to the server.
 */
async function guardConnection(
  conn: Deno.Conn,
  options: HeaderGuardOptions,
  waiting: Set<Deno.Conn>,
): Promise<void> {
  const lingerMs = options.lingerMs ?? 2_000;
  waiting.add(conn);
  const head = await readHead(conn, options);
  waiting.delete(conn);
  if (head.kind === "closed") return closeQuietly(conn);
  if (head.kind === "timeout" || head.kind === "too-large") {
    const status = head.kind === "timeout" ? 408 : 431;
    options.onRefused?.(status);
    const pending = head.kind === "timeout" ? head.pending : undefined;
    return await answerAndClose(conn, refusal(status, options), lingerMs, pending);
  }
  let server: Deno.TcpConn;
  try {
    server = await Deno.connect({
      hostname: options.upstream.hostname,
      port: options.upstream.port,
    });
    server.setNoDelay(true);
    await writeAll(server, withConnectionClose(head.bytes, head.end));
  } catch {
    // The server has stopped (a shutdown under way): this request cannot be answered.
    const response = errorBytes(
      503,
      "Service Unavailable",
      "the server is shutting down; send the request again",
    );
    return await answerAndClose(conn, response, lingerMs);
  }
  await relay(conn, server, lingerMs);
}

/**
 * Guards a listener: accepts its connections, answers 408 or 431 to those whose request head does
 * not arrive in time or in size, and relays the others to `options.upstream` (see the module
 * documentation). The guard owns the listener: {@linkcode HeaderGuard.close} closes it.
 *
 * @example
 * ```ts
 * import { guardHeaders } from "./_header_guard.ts";
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
 *   new Response("hello"));
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const guard = guardHeaders(listener, {
 *   upstream: server.addr,
 *   headerTimeoutMs: 10_000,
 *   maxHeaderBytes: 65_536,
 * });
 * console.log(await (await fetch(`http://127.0.0.1:${listener.addr.port}/`)).text());
 * guard.close();
 * await server.shutdown();
 * await guard.finished;
 * ```
 *
 * @param listener the public TCP listener
 * @param options the server to relay to, the limits, the log
 * @returns the guard
 */
export function guardHeaders(listener: Deno.TcpListener, options: HeaderGuardOptions): HeaderGuard {
  const waiting = new Set<Deno.Conn>();
  const accepted = new Set<Deno.Conn>();
  const connections = new Set<Promise<void>>();
  let closed = false;

  const accept = async (): Promise<void> => {
    while (!closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (closed) break;
        // e.g. too many open files: log, wait a little and accept again
        options.log?.(`error: accepting a connection failed: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (closed) {
        closeQuietly(conn);
        break;
      }
      try {
        conn.setNoDelay(true); // the head and the answer go out at once
      } catch {
        // closed already: the read below says so
      }
      const task = guardConnection(conn, options, waiting).catch((error) => {
        closeQuietly(conn);
        options.log?.(`error: relaying a connection failed: ${(error as Error).stack ?? error}`);
      });
      connections.add(task);
      accepted.add(conn);
      task.finally(() => {
        connections.delete(task);
        accepted.delete(conn);
      });
    }
  };

  const finished = (async () => {
    await accept();
    while (connections.size > 0) await Promise.all(connections);
  })();

  const close = () => {
    if (closed) return;
    closed = true;
    try {
      listener.close();
    } catch {
      // already closed
    }
    for (const conn of waiting) closeQuietly(conn);
    waiting.clear();
  };
  return {
    close,
    closeAll() {
      close();
      for (const conn of accepted) closeQuietly(conn);
    },
    finished,
  };
}
