/**
 * The `POST /v1/ner` request and response: checking the request body (every mistake answered
 * with a 400 that names the field, every limit with a 413), and the response documents in the
 * offset unit the request asked for.
 *
 * Request: `{"texts": ["…", …]}` or `{"text": "…"}`, optionally `"offsets": "utf16"` (the
 * default: UTF-16 code units, JavaScript string indices) or `"codepoints"` (Unicode code points,
 * Python string indices). Response: `{"documents": [{"tokens": […], "entities": […]}]}`, one
 * document per text (one for `"text"`), the shapes of `deno task predict --json`.
 *
 * @module
 */
import { OFFSET_UNITS, type OffsetUnit } from "../predict/predict.ts";
import { type TextPrediction } from "../predict/predict_text.ts";
import { codePointOffsets } from "../data/text.ts";
import { HttpError } from "./http.ts";

/** Limits of a request's content. */
export interface NerLimits {
  /** Most texts in one request. */
  maxTexts: number;
  /** Most characters (UTF-16 code units) in one text. */
  maxTextChars: number;
}

/** A checked `POST /v1/ner` request. */
export interface NerRequest {
  /** The texts to tag (one for `"text"`). */
  texts: string[];
  /** What the offsets in the response count. */
  offsets: OffsetUnit;
}

/** The response body of `POST /v1/ner`. */
export interface NerResponse {
  /** One document per text, in order. */
  documents: TextPrediction[];
}

/** The fields a request may have. */
const FIELDS = ["text", "texts", "offsets"];

/** A 400 naming what is wrong. */
function badRequest(message: string): HttpError {
  return new HttpError(400, message);
}

/** Checks the texts against the limits (413 naming the text). */
function checkLimits(texts: readonly string[], field: string, limits: NerLimits): void {
  if (texts.length > limits.maxTexts) {
    throw new HttpError(
      413,
      `${field} has ${texts.length} texts; the limit is ${limits.maxTexts} per request`,
    );
  }
  texts.forEach((text, index) => {
    if (text.length > limits.maxTextChars) {
      const name = field === "text" ? "text" : `texts[${index}]`;
      throw new HttpError(
        413,
        `${name} has ${text.length} characters; the limit is ${limits.maxTextChars}`,
      );
    }
  });
}

/** The texts of a body: `text` (one string) or `texts` (an array of strings). */
function textsOf(body: Record<string, unknown>): { texts: string[]; field: string } {
  const hasText = "text" in body;
  const hasTexts = "texts" in body;
  if (hasText && hasTexts) throw badRequest('give "text" or "texts", not both');
  if (hasText) {
    if (typeof body.text !== "string") throw badRequest("text must be a string");
    return { texts: [body.text], field: "text" };
  }
  if (!hasTexts) {
    throw badRequest('body needs "text" (a string) or "texts" (an array of strings)');
  }
  const texts = body.texts;
  if (!Array.isArray(texts)) throw badRequest("texts must be an array of strings");
  texts.forEach((text: unknown, index) => {
    if (typeof text !== "string") throw badRequest(`texts[${index}] must be a string`);
  });
  return { texts: texts as string[], field: "texts" };
}

/**
 * Checks a parsed `POST /v1/ner` body.
 *
 * @example
 * ```ts
 * import { parseNerRequest } from "./ner_request.ts";
 * const limits = { maxTexts: 10, maxTextChars: 1000 };
 * parseNerRequest({ text: "Paris", offsets: "codepoints" }, limits);
 * // { texts: ["Paris"], offsets: "codepoints" }
 * try {
 *   parseNerRequest({ texts: ["a", 2] }, limits);
 * } catch (error) {
 *   console.log((error as Error).message); // "texts[1] must be a string"
 * }
 * ```
 *
 * @param body the parsed JSON body
 * @param limits most texts and characters per text
 * @returns the texts and the offset unit
 * @throws {HttpError} 400 naming the field that is missing, unknown or of the wrong type; 413
 *   naming the limit a request passes
 */
export function parseNerRequest(body: unknown, limits: NerLimits): NerRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badRequest('body must be a JSON object such as {"texts": ["…"]}');
  }
  const record = body as Record<string, unknown>;
  const unknown = Object.keys(record).find((key) => !FIELDS.includes(key));
  if (unknown !== undefined) {
    throw badRequest(`unknown field ${JSON.stringify(unknown)} (fields: text, texts, offsets)`);
  }
  const { texts, field } = textsOf(record);
  let offsets: OffsetUnit = "utf16";
  if ("offsets" in record) {
    if (!(OFFSET_UNITS as readonly unknown[]).includes(record.offsets)) {
      throw badRequest('offsets must be "utf16" or "codepoints"');
    }
    offsets = record.offsets as OffsetUnit;
  }
  checkLimits(texts, field, limits);
  return { texts, offsets };
}

/**
 * A prediction made with UTF-16 offsets, in the unit a request asked for: itself for `"utf16"`,
 * a copy with every token's and entity's `start` and `end` in code points for `"codepoints"`.
 *
 * @param text the text the prediction is of
 * @param prediction its prediction, offsets in UTF-16 code units
 * @param unit the unit wanted
 * @returns the prediction in that unit
 */
export function withOffsets(
  text: string,
  prediction: TextPrediction,
  unit: OffsetUnit,
): TextPrediction {
  if (unit === "utf16") return prediction;
  const toCodePoints = codePointOffsets(text);
  const convert = <T extends { start: number; end: number }>(item: T): T => ({
    ...item,
    start: toCodePoints(item.start),
    end: toCodePoints(item.end),
  });
  return {
    tokens: prediction.tokens.map(convert),
    entities: prediction.entities.map(convert),
  };
}
