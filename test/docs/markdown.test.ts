import { describe, expect, test } from "bun:test";
import { extractDoctests, findMissingLine, parseFences } from "./support/markdown.ts";

const DOC = [
  "# Title",
  "```sh",
  "echo not run",
  "```",
  "",
  "```sh doctest",
  "echo one",
  "```",
  "",
  "1. A list item:",
  "   ```console doctest=isolated",
  "   $ curl -si \\",
  '       "$ENVOY/"',
  "   HTTP/1.1 200 OK",
  "   …",
  "   ok",
  "   $ hfi policy apply -f - <<'EOF'",
  "   metadata: { name: x }",
  "   EOF",
  "   faultinjectionpolicy.hfi.dev/x created",
  "   ```",
  "````markdown",
  "```sh doctest",
  "inside a longer fence: not a block of its own",
  "```",
  "````",
].join("\n");

describe("extractDoctests", () => {
  test("finds marked blocks with their mode, line and steps", () => {
    const blocks = extractDoctests(DOC, "DOC.md");
    expect(blocks.map((b) => [b.where, b.mode, b.steps.length])).toEqual([
      ["DOC.md:6", "demo", 1],
      ["DOC.md:11", "isolated", 2],
    ]);
    expect(blocks[0]!.steps[0]).toEqual({
      kind: "script",
      where: "DOC.md:6",
      text: "echo one",
      expected: [],
    });
    expect(blocks[1]!.steps).toEqual([
      {
        kind: "command",
        where: "DOC.md:12",
        text: 'curl -si \\\n    "$ENVOY/"',
        expected: ["HTTP/1.1 200 OK", "ok"],
      },
      {
        kind: "command",
        where: "DOC.md:17",
        text: "hfi policy apply -f - <<'EOF'\nmetadata: { name: x }\nEOF",
        expected: ["faultinjectionpolicy.hfi.dev/x created"],
      },
    ]);
  });

  test.each([
    ["```sh doctest=isoalted\n```", /unknown doctest marker/],
    ["```yaml doctest\n```", /must be sh, bash, shell or console/],
    ["```console doctest\noutput first\n```", /starts with "\$ command"/],
  ])("refuses %p", (markdown, error) => {
    expect(() => extractDoctests(markdown, "x.md")).toThrow(error);
  });

  test("an unclosed fence runs to the end", () => {
    expect(parseFences("```sh\na\nb").map((f) => f.lines)).toEqual([["a", "b"]]);
  });
});

describe("findMissingLine", () => {
  const output = "HTTP/1.1 503 Service Unavailable\nx-hfi-fault: checkout-abort\n\nfault injected by hfi";
  test("substrings of later lines, in order", () => {
    expect(findMissingLine(output, ["503", "x-hfi-fault: checkout-abort", "fault injected"])).toBeUndefined();
    expect(findMissingLine(output, [])).toBeUndefined();
  });
  test("… inside a line stands for any text", () => {
    expect(findMissingLine(output, ["HTTP/1.1 5… Unavailable", "fault…by hfi"])).toBeUndefined();
    expect(findMissingLine(output, ["Unavailable…HTTP"])).toBe("Unavailable…HTTP");
  });
  test("reports the first line not found after the previous one", () => {
    expect(findMissingLine(output, ["x-hfi-fault", "HTTP/1.1 503"])).toBe("HTTP/1.1 503");
    expect(findMissingLine(output, ["HTTP/1.1 200"])).toBe("HTTP/1.1 200");
  });
});
