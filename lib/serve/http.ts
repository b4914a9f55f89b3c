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
 * Reads a request body as JSON, refusing more than `maxBytes` bytes: a `Content-Length` over the
 * limit is refused before anything is read, and a body without one is read only up to the limit.
 *
 * @param request the request
 * @param maxBytes the largest body accepted, in bytes
 * @returns the parsed value
 * @throws {HttpError} 413 when the body is too large; 400 when it is empty, not UTF-8 or not JSON
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => {});
    throw new HttpError(413, `body has ${declared} bytes; the limit is ${maxBytes}`);
  }
  const bytes = await readLimited(request.body, maxBytes);
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

/** Reads a stream whole, or throws 413 (cancelling the rest) once it passes `maxBytes`. */
async function readLimited(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new HttpError(413, `body is larger than the limit of ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
