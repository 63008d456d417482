/**
 * The docs' shell blocks that can run on one machine, run: README.md and docs/QUICKSTART.md, every
 * block marked `doctest` (against a local stack started here: the real dist/hfi, Envoy with the filter,
 * a sample upstream) or `doctest=isolated` (in a network namespace of its own, where the blocks start
 * everything themselves on the ports the doc names). Each block must exit 0 and show the output the
 * doc shows. Blocks that need a cluster or a download are not marked; the docs say so beside them.
 * Requires `npm run build` and scripts/setup.sh, as the e2e tests do.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { type DoctestBlock, extractDoctests } from "./support/markdown.ts";
import { checkUnshare, ROOT, runSession } from "./support/session.ts";

/** The docs whose runnable blocks are run, with how many blocks of each mode they must have at least. */
const DOCS = [
  { file: "README.md", stack: 1, isolated: 0 },
  { file: "docs/QUICKSTART.md", stack: 0, isolated: 1 },
];
const SESSION_TIMEOUT_MS = 120_000;

const blocksOf = (file: string) => extractDoctests(readFileSync(join(ROOT, file), "utf8"), file);

let stack: LocalStack | undefined;
beforeAll(async () => {
  checkUnshare();
  stack = await startLocalStack({ concurrency: 2 });
}, 30_000);
afterAll(async () => {
  await stack?.stop();
});

async function expectSessionPasses(blocks: DoctestBlock[], isolated: boolean): Promise<void> {
  const env: Record<string, string> = isolated
    ? {}
    : {
        HFI_CONTROL_PLANE_ADDR: stack!.controlPlaneUrl,
        ENVOY: stack!.envoyUrl,
        ENVOY_ADMIN: stack!.adminUrl,
      };
  const result = await runSession(blocks, { isolated, env, timeoutMs: SESSION_TIMEOUT_MS });
  expect(result.failures).toEqual([]);
  expect(result.passed).toBe(blocks.flatMap((block) => block.steps).length);
}

for (const doc of DOCS) {
  describe(doc.file, () => {
    const blocks = blocksOf(doc.file);
    const stackBlocks = blocks.filter((block) => block.mode === "stack");
    const isolatedBlocks = blocks.filter((block) => block.mode === "isolated");

    test("has the runnable blocks it should", () => {
      expect(stackBlocks.length).toBeGreaterThanOrEqual(doc.stack);
      expect(isolatedBlocks.length).toBeGreaterThanOrEqual(doc.isolated);
    });

    if (stackBlocks.length > 0) {
      test(
        `${stackBlocks.length} doctest blocks run against a local stack`,
        () => expectSessionPasses(stackBlocks, false),
        SESSION_TIMEOUT_MS + 10_000,
      );
    }
    if (isolatedBlocks.length > 0) {
      test(
        `${isolatedBlocks.length} doctest=isolated blocks run in a network namespace of their own`,
        () => expectSessionPasses(isolatedBlocks, true),
        SESSION_TIMEOUT_MS + 10_000,
      );
    }
  });
}
