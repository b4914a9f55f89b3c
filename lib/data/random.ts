/**
 * Seeded randomness: a small, fast PRNG so splits, shuffles and dropout are
 * reproducible by seed.
 *
 * @module
 */

/** A function returning uniform numbers in [0, 1). */
export type Random = () => number;

/** A seeded PRNG whose state can be saved and restored (e.g. in a mid-epoch checkpoint). */
export interface SeededRandom extends Random {
  /** The generator's state (a uint32): setting a saved state continues that sequence. */
  state: number;
}

/**
 * Creates a seeded PRNG (mulberry32): the same seed gives the same sequence.
 *
 * @example
 * ```ts
 * import { seededRandom } from "./random.ts";
 * const random = seededRandom(42);
 * random();
 * const saved = random.state;
 * const next = random();
 * random.state = saved;
 * console.log(random() === next); // true
 * ```
 *
 * @param seed any integer
 * @returns a function returning uniform numbers in [0, 1), with its `state`
 */
export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
  return Object.defineProperty(random, "state", {
    get: () => state,
    set: (value: number) => {
      state = value >>> 0;
    },
  }) as SeededRandom;
}

/**
 * Returns a shuffled copy of an array (Fisher–Yates), deterministic by `random`.
 *
 * @param items the items to shuffle (not modified)
 * @param random the PRNG to draw from
 * @returns a new array in shuffled order
 */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const result = items.slice();
  for (let index = result.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [result[index], result[other]] = [result[other], result[index]];
  }
  return result;
}
