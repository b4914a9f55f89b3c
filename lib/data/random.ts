/**
 * Seeded randomness: a small, fast PRNG so splits, shuffles and dropout are
 * reproducible by seed.
 *
 * @module
 */

/** A function returning uniform numbers in [0, 1). */
export type Random = () => number;

/**
 * Creates a seeded PRNG (mulberry32): the same seed gives the same sequence.
 *
 * @param seed any integer
 * @returns a function returning uniform numbers in [0, 1)
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
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
