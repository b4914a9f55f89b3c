/**
 * Windows: how a sentence of any length is tagged by a tagger of row length `maxLen` without
 * dropping a token.
 *
 * @module
 */

/** One window of a long sentence: the model sees `[start, start + length)`, we keep `[keepFrom, keepTo)`. */
export interface Window {
  /** First token the model sees. */
  start: number;
  /** Tokens the model sees (at most `maxLen`). */
  length: number;
  /** First token whose prediction is kept from this window (absolute index). */
  keepFrom: number;
  /** One past the last kept token (absolute index). */
  keepTo: number;
}

/**
 * Plans the windows that tag a sentence of any length with a model of row length `maxLen`.
 *
 * A sentence that fits is one window. A longer one is covered by windows of `maxLen` tokens
 * starting every `ceil(maxLen / 2)` tokens, the last one ending at the sentence's end; each
 * token's prediction is taken from exactly one window: consecutive windows split their overlap
 * in the middle, so every kept token has context on both sides where the sentence allows it.
 * The kept ranges partition `[0, length)` in order. Empty sentences give no windows.
 *
 * @param length tokens in the sentence
 * @param maxLen the model's row length
 * @returns the windows, in order
 */
export function planWindows(length: number, maxLen: number): Window[] {
  if (!Number.isInteger(maxLen) || maxLen < 1) {
    throw new RangeError(`maxLen must be a positive integer, got ${maxLen}`);
  }
  if (length <= 0) return [];
  if (length <= maxLen) return [{ start: 0, length, keepFrom: 0, keepTo: length }];
  const stride = Math.ceil(maxLen / 2);
  const starts: number[] = [];
  for (let start = 0; start + maxLen < length; start += stride) starts.push(start);
  starts.push(length - maxLen);
  return starts.map((start, index) => {
    const previous = starts[index - 1];
    const next = starts[index + 1];
    // Split each overlap [next, start + maxLen) at its middle.
    const keepFrom = previous === undefined ? 0 : Math.floor((start + previous + maxLen) / 2);
    const keepTo = next === undefined ? length : Math.floor((next + start + maxLen) / 2);
    return { start, length: maxLen, keepFrom, keepTo };
  });
}
