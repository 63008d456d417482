/**
 * Fast per-VM PRNG (xorshift64*) for percentage sampling and backoff jitter; not for secrets.
 * Seeded from the host's CSPRNG so worker VMs draw independent sequences.
 */

let state: u64 = 0x9e3779b97f4a7c15;

/** Reseeds the generator; a zero seed (the host refused) keeps the current state. */
export function seedRandom(seed: u64): void {
  if (seed != 0) state = seed;
}

function nextU64(): u64 {
  let x = state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  state = x;
  return x * 0x2545f4914f6cdd1d;
}

/** Uniform draw in [0, bound). */
export function randomBelow(bound: u32): u32 {
  return <u32>(((nextU64() >> 32) * <u64>bound) >> 32);
}

/** Uniform draw in [0, 1), 53 random bits. */
export function randomUnit(): f64 {
  return <f64>(nextU64() >> 11) * (1.0 / <f64>(1 << 53));
}

/** Standard normal draw (Marsaglia's polar method: no trigonometry, one log per pair of uniforms). */
export function randomNormal(): f64 {
  let u: f64 = 0;
  let s: f64 = 0;
  do {
    u = 2 * randomUnit() - 1;
    const v = 2 * randomUnit() - 1;
    s = u * u + v * v;
  } while (s >= 1 || s == 0);
  return u * Math.sqrt((-2 * Math.log(s)) / s);
}
