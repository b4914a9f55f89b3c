/**
 * HTTP plumbing of the server: errors that carry their status and a message fit for the client,
 * JSON responses, and reading a JSON request body under a size limit.
 *
 * @module
 */

/** What a client is told when something failed inside the server (the details go to the log). */
export const INTERNAL_ERROR = "internal error (logged on the server)";

/**
 * An error answered with its status and `{"error": message}`. Its message is for the client:
 * it names what was wrong (a field, a limit) and never holds a stack trace or a file path.
 */
export class HttpError extends Error {
  /**
   * Makes the error.
   *
   * @param status the HTTP status (4xx or 5xx)
   * @param message what went wrong, for the client
   * @param headers extra response headers (e.g. `Allow`, `Retry-After`)
   */
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/**
 * A JSON response.
 *
 * @param body the value (serialised with `JSON.stringify`)
 * @param status the status; default 200
 * @param headers extra headers
 * @returns the response, `Content-Type: application/json; charset=utf-8`
 */
export function jsonResponse(
  body: unknown,
  status = 200,
  headers: Readonly<Record<string, string>> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/**
 * The JSON error response of an {@linkcode HttpError}: `{"error": message}` with its status and
 * headers.
 *
 * @param error the error
 * @returns the response
 */
export function errorResponse(error: HttpError): Response {
  return jsonResponse({ error: error.message }, error.status, error.headers);
}

/**
 * The request body could not be read to its end: the client closed the connection mid-upload,
 * or the server is shutting down (its routes answer 503 then). A 400 without a stack trace.
 */
export class BodyReadError extends HttpError {
  /** Makes the error (status 400, `Connection: close`). */
  constructor() {
    super(400, "the request body could not be read to its end (the connection closed)", {
      connection: "close",
    });
    this.name = "BodyReadError";
  }
}

/** Options of {@linkcode readJsonBody}. */
export interface ReadBodyOptions {
  /**
   * Time the whole body may take to arrive, from the call on, in milliseconds; a body still
   * incomplete then (a client that stalls mid-upload) gets 408. Default: no limit.
   */
  timeoutMs?: number;
}

/**
 * Reads a request body as JSON, refusing more than `maxBytes` bytes: a `Content-Length` over the
 * limit is refused before anything is read, and a body without one is read only up to the limit.
 *
 * @param request the request
 * @param maxBytes the largest body accepted, in bytes
 * @param options the time the body may take to arrive
 * @returns the parsed value
 * @throws {HttpError} 413 when the body is too large; 400 when it is empty, not UTF-8 or not JSON;
 *   408 (`Connection: close`) when it does not arrive within `timeoutMs`; a
 *   {@linkcode BodyReadError} (400) when the connection closes before its end
 */
export async function readJsonBody(
  request: Request,
  maxBytes: number,
  options: ReadBodyOptions = {},
): Promise<unknown> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => {});
    throw new HttpError(413, `body has ${declared} bytes; the limit is ${maxBytes}`);
  }
  const bytes = await readLimited(request.body, maxBytes, options.timeoutMs);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, "body is not valid UTF-8");
  }
  if (text.trim() === "") throw new HttpError(400, "body is empty: send a JSON object");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads a stream whole, or throws: 413 (cancelling the rest) once it passes `maxBytes`, 408 once
 * `timeoutMs` has passed, {@linkcode BodyReadError} when the stream fails.
 */
async function readLimited(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  timeoutMs?: number,
): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    if (timeoutMs === undefined) return;
    timer = setTimeout(() => {
      reject(
        new HttpError(408, `the request body did not arrive within ${timeoutMs} ms`, {
          connection: "close",
        }),
      );
    }, timeoutMs);
  });
  expired.catch(() => {}); // raced below; never left unhandled
  try {
    while (true) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await Promise.race([reader.read(), expired]);
      } catch (error) {
        if (error instanceof HttpError) throw error;
        throw new BodyReadError();
      }
      if (chunk.done) break;
      size += chunk.value.length;
      if (size > maxBytes) {
        throw new HttpError(413, `body is larger than the limit of ${maxBytes} bytes`);
      }
      chunks.push(chunk.value);
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
