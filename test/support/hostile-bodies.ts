/** Hostile request bodies that outside fuzzing found, shared by the API, binary and Node tests. */

/**
 * A ~2 KB JSON policy with 33 regexes whose DFAs blow up (`(.|\n)*(\p{L}|\d){9}`), each refused
 * only after a few hundred milliseconds of compiling. Every regex starts with `tag`, so that no
 * regex cache from an earlier request helps.
 */
export function regexBombJson(tag: string, name = `bomb-${tag}`): string {
  const bomb = (i: number) => `${tag}${String(i).padStart(2, "0")}(.|\\n)*(\\p{L}|\\d){9}`;
  return JSON.stringify({
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name },
    spec: {
      match: {
        path: { regex: bomb(99) },
        headers: Array.from({ length: 32 }, (_, i) => ({ name: `x-h${i}`, regex: bomb(i) })),
      },
      fault: { abort: { httpStatus: 503 } },
    },
  });
}

/**
 * Sends the regex bomb to `url` and, while it is in flight, `/healthz` and `/v1/config`; the order
 * in which their answers arrive, as `"<what> <status>"`. With the event loop free the bomb is last.
 */
export async function answersWhileRefusingBomb(
  url: string,
  tag: string,
  headers: Record<string, string> = {},
) {
  const finished: string[] = [];
  const bomb = fetch(`${url}/v1/policies`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: regexBombJson(tag),
  }).then((res) => finished.push(`bomb ${res.status}`));
  // Long enough for the bomb to reach validation, far shorter than refusing it takes.
  await Bun.sleep(100);
  for (const path of ["/healthz", "/v1/config"]) {
    const res = await fetch(`${url}${path}`, { headers });
    finished.push(`${path} ${res.status}`);
  }
  await bomb;
  return finished;
}
