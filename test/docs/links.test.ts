/**
 * Every relative link in the docs leads somewhere: the file exists, and an `#anchor` into a Markdown
 * file names one of its headings (GitHub's slugs). Links inside code blocks and to URLs are not checked.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { ROOT } from "./support/session.ts";

const DOCS = [
  ...readdirSync(ROOT).filter((name) => name.endsWith(".md")),
  ...readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
  "bench/README.md",
];

/** The text outside fenced code blocks and inline code spans. */
function prose(markdown: string): string {
  let fence: string | undefined;
  const kept: string[] = [];
  for (const line of markdown.split("\n")) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker && (!fence || (marker[0] === fence[0] && marker.length >= fence.length))) {
      fence = fence ? undefined : marker;
      continue;
    }
    if (!fence) kept.push(line.replace(/`[^`]*`/g, (code) => (code.includes("](") ? "" : code)));
  }
  return kept.join("\n");
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/ /g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

describe("links in the docs", () => {
  test("anchors follow GitHub's slugs", () => {
    const doc = "# A (`b.c`, `d[].e`)\n## GET /openapi.json\n## Same\n## Same\n```\n# not a heading\n```";
    expect([...anchorsOf(doc)]).toEqual(["a-bc-de", "get-openapijson", "same", "same-1"]);
  });

  for (const doc of DOCS) {
    test(`${doc}: every relative link resolves`, () => {
      const text = prose(readFileSync(join(ROOT, doc), "utf8"));
      const broken: string[] = [];
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue;
        const [file = "", anchor] = target!.split("#");
        const path = file === "" ? join(ROOT, doc) : join(ROOT, dirname(doc), decodeURI(file));
        if (!existsSync(path)) {
          broken.push(`${target}: no ${relative(ROOT, path)}`);
        } else if (
          anchor !== undefined &&
          path.endsWith(".md") &&
          !anchorsOf(readFileSync(path, "utf8")).has(anchor)
        ) {
          broken.push(`${target}: no heading #${anchor} in ${relative(ROOT, path)}`);
        }
      }
      expect(broken).toEqual([]);
    });
  }
});
