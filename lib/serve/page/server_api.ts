/**
 * The server's try-it page talks to the server's API: tagging a text with `POST /v1/ner` (its
 * answer turned into what the view shows, its errors into messages) and the model's types from
 * `GET /v1/model`. For the browser (bundled by `build.ts`); no DOM here. The exported static page
 * (lib/web/page.ts) answers in the same shape in the browser and shows it through
 * {@linkcode nerResult} too.
 *
 * @module
 */
import { TagError, type TagResult } from "./view.ts";

/** How the module fetches (the browser's `fetch`, or a stand-in in tests). */
export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/** The message of an error answer: its `{"error"}` (a string, or an object's message). */
function errorMessage(body: unknown, raw: string): string {
  const error = body !== null && typeof body === "object"
    ? (body as { error?: unknown }).error
    : undefined;
  if (typeof error === "string") return error;
  if (error !== null && typeof error === "object") {
    const message = (error as { message?: unknown }).message;
    return typeof message === "string" ? message : JSON.stringify(error);
  }
  return raw.trim().slice(0, 300) || "no details";
}

/** Parses JSON, or null when it is not JSON. */
function parseOrNull(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

/**
 * Tags a text with `POST /v1/ner`: its first document's entities and token count, and the answer
 * for the JSON view.
 *
 * @param text the text
 * @param fetcher how to fetch (default the global `fetch`)
 * @returns the result for the view
 * @throws {TagError} when the server cannot be reached, answers an error (`Error 413 …: its
 *   message`), or answers without a `documents` list
 */
export async function tagWithServer(text: string, fetcher: Fetch = fetch): Promise<TagResult> {
  let response: Response;
  let raw: string;
  try {
    response = await fetcher("/v1/ner", {
      method: "POST",
      headers: { "content-type": "application/json", "accept": "application/json" },
      body: JSON.stringify({ text }),
    });
    raw = await response.text();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TagError(`Could not reach the server: ${reason}`);
  }
  const body = parseOrNull(raw);
  const json = body === null ? raw : body;
  if (!response.ok) {
    const statusText = response.statusText ? ` ${response.statusText}` : "";
    throw new TagError(
      `Error ${response.status}${statusText}: ${errorMessage(body, raw)}`,
      "The server answered with an error.",
      json,
    );
  }
  return nerResult(body, json);
}

/**
 * What the view shows of a `POST /v1/ner` answer (`{"documents": [{"tokens", "entities"}]}`):
 * its first document's entities and token count, and the answer for the JSON view. A page that
 * tags in the browser builds the same answer and shows it through this too.
 *
 * @param body the answer, parsed
 * @param json what the JSON view shows (default the answer)
 * @returns the result for the view
 * @throws {TagError} when the answer has no `documents` list
 */
export function nerResult(body: unknown, json: unknown = body): TagResult {
  const documents = body !== null && typeof body === "object"
    ? (body as { documents?: unknown }).documents
    : undefined;
  if (!Array.isArray(documents)) {
    throw new TagError('Unexpected response from the server (no "documents" list).', "", json);
  }
  const document = (documents[0] ?? {}) as { entities?: unknown; tokens?: unknown };
  return {
    entities: Array.isArray(document.entities) ? document.entities : [],
    tokens: Array.isArray(document.tokens) ? document.tokens.length : 0,
    json,
  };
}

/**
 * The entity types `GET /v1/model` lists (`types`, or `entityTypes`); none when it fails.
 *
 * @param fetcher how to fetch (default the global `fetch`)
 */
export async function modelTypes(fetcher: Fetch = fetch): Promise<string[]> {
  try {
    const response = await fetcher("/v1/model", { headers: { "accept": "application/json" } });
    if (!response.ok) return [];
    const model = await response.json() as { types?: unknown; entityTypes?: unknown } | null;
    const types = Array.isArray(model?.types) ? model.types : model?.entityTypes;
    return Array.isArray(types) ? types.filter((t): t is string => typeof t === "string") : [];
  } catch {
    return [];
  }
}
