/**
 * The sandbox's one seeded random stream, so a fault sequence or an event delivery plan can be replayed from its
 * seed (the fault spec's `seed`, `events.delivery.seed`).
 */

/**
 * mulberry32: small, fast and good enough to pick which calls fail and to spread delays; one stream per seed.
 *
 * @example
 * const random = seededRandom(7);
 * random(); // the same first number for every stream of seed 7
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
