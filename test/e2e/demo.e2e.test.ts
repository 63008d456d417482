/** `npm run demo -- --exit` must run the whole scenario against the real stack and exit 0. */
import { expect, test } from "bun:test";

const root = new URL("../..", import.meta.url).pathname;

test("the demo runs its scenario and exits 0", async () => {
  const demo = Bun.spawn(["bun", "scripts/demo.ts", "--exit"], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(demo.stdout).text(),
    new Response(demo.stderr).text(),
    demo.exited,
  ]);
  if (code !== 0) console.error(out, err);
  expect(code).toBe(0);
  expect(out).toMatch(/HTTP\/1\.1 503[\s\S]*x-hfi-fault: checkout-abort/i);
  expect(out).toContain("fault injected by hfi");
  expect(out).toMatch(/HTTP\/1\.1 200[\s\S]*"upstream":"sample"/);
  const pids = [...out.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
  expect(pids).toHaveLength(2);
  for (const pid of pids) expect(isAlive(pid)).toBe(false);
}, 120_000);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
