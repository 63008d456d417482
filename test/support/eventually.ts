/**
 * The first value of `probe` that `ok` accepts, probing every `everyMs`. A probe that throws counts as
 * "not yet" (a replica restarting, a member down); past `limitMs` it fails with the last value or error.
 */
export async function eventually<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  limitMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    let last: unknown;
    try {
      const value = await probe();
      if (ok(value)) return value;
      last = value;
    } catch (err) {
      last = err instanceof Error ? err.message : err;
    }
    if (Date.now() > deadline) throw new Error(`not within ${limitMs} ms; last: ${JSON.stringify(last)}`);
    await Bun.sleep(everyMs);
  }
}
