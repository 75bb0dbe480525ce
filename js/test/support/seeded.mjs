// Seeded randomness for the tests, so a failing case can be replayed:
// every test prints its seed, and DROP_TEST_SEED=<n> reruns with it.
// This drives only the choice of cases (lengths, tags, message bytes, key
// seeds); the code under test still draws its own keys and nonces from the
// CSPRNG, as it must.

export const SEED = Number.parseInt(process.env.DROP_TEST_SEED ?? '20261124', 10);

/** A small deterministic generator (splitmix32), good enough to pick test cases. */
export function seededRandom(seed = SEED) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  return {
    /** integer in [0, n) */
    below: (n) => next() % n,
    bytes(length) {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i += 4) {
        const word = next();
        for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
      }
      return out;
    },
    pick(items) {
      return items[next() % items.length];
    },
  };
}
