/**
 * The docs' shell blocks that can run on one machine, run: README.md, docs/QUICKSTART.md,
 * docs/CLI.md and docs/OPERATIONS.md, every block marked `doctest` (after `npm run demo` has started
 * its stack, as the README tells a reader to) or `doctest=isolated` (where the blocks start
 * everything themselves on the ports the doc names).
 * Both run in a network namespace of their own, so the fixed ports are free, as on a reader's machine.
 * Each block must exit 0 and show the output the doc shows. Blocks that need a cluster or a download
 * are not marked; the docs say so beside them. Requires `npm run build` and scripts/setup.sh, as the
 * e2e tests do.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type DoctestBlock, extractDoctests, type Step } from "./support/markdown.ts";
import { checkUnshare, ROOT, runSession } from "./support/session.ts";

/** The docs whose runnable blocks are run, with how many blocks of each mode they must have at least. */
const DOCS = [
  { file: "README.md", demo: 3, isolated: 0 },
  { file: "docs/QUICKSTART.md", demo: 0, isolated: 1 },
  { file: "docs/CLI.md", demo: 0, isolated: 1 },
  { file: "docs/OPERATIONS.md", demo: 2, isolated: 0 },
];
const SESSION_TIMEOUT_MS = 180_000;
const DEMO_READY = "The stack keeps running";

const blocksOf = (file: string) => extractDoctests(readFileSync(join(ROOT, file), "utf8"), file);

/**
 * What a reader does before the `doctest` blocks: `npm run demo` (here without its build: `npm test`
 * built dist/) in another shell, until it says the stack keeps running. It must print the `export`
 * lines the doc's blocks paste, so the doc and the demo cannot drift apart.
 */
function startDemo(file: string, blocks: DoctestBlock[]): Step {
  const exportLines = blocks
    .flatMap((block) => block.steps)
    .filter((step) => step.kind === "script")
    .flatMap((step) => step.text.split("\n"))
    .filter((line) => line.startsWith("export "))
    .map((line) => line.replace(/\s+#.*$/, ""));
  return {
    kind: "command",
    where: `${file}: npm run demo, started by the doc-test`,
    text: [
      `"${process.execPath}" scripts/demo.ts --no-build > demo.log 2>&1 &`,
      `for _ in $(seq 600); do grep -q '${DEMO_READY}' demo.log && break; kill -0 $! || break; sleep 0.1; done`,
      "cat demo.log",
    ].join("\n"),
    expected: [DEMO_READY, ...exportLines],
  };
}

async function expectSessionPasses(steps: Step[]): Promise<void> {
  const result = await runSession(steps, { env: {}, timeoutMs: SESSION_TIMEOUT_MS });
  expect(result.failures).toEqual([]);
  expect(result.passed).toBe(steps.length);
}

checkUnshare();

for (const doc of DOCS) {
  describe(doc.file, () => {
    const blocks = blocksOf(doc.file);
    const demoBlocks = blocks.filter((block) => block.mode === "demo");
    const isolatedBlocks = blocks.filter((block) => block.mode === "isolated");

    test("has the runnable blocks it should", () => {
      expect(demoBlocks.length).toBeGreaterThanOrEqual(doc.demo);
      expect(isolatedBlocks.length).toBeGreaterThanOrEqual(doc.isolated);
    });

    if (demoBlocks.length > 0) {
      test(
        `${demoBlocks.length} doctest blocks run against the stack of npm run demo`,
        () =>
          expectSessionPasses([
            startDemo(doc.file, demoBlocks),
            ...demoBlocks.flatMap((block) => block.steps),
          ]),
        SESSION_TIMEOUT_MS + 10_000,
      );
    }
    if (isolatedBlocks.length > 0) {
      test(
        `${isolatedBlocks.length} doctest=isolated blocks run with nothing started beforehand`,
        () => expectSessionPasses(isolatedBlocks.flatMap((block) => block.steps)),
        SESSION_TIMEOUT_MS + 10_000,
      );
    }
  });
}
