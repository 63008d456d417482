import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ERROR_CODE_NAMES, ERROR_CODES, errorCodeForStatus } from "./errors.ts";

describe("ERROR_CODES", () => {
  test("docs/API_REFERENCE.md lists every code with its status, and no other", () => {
    const reference = readFileSync(new URL("../docs/API_REFERENCE.md", import.meta.url), "utf8");
    const errors = reference.slice(reference.indexOf("\n## Errors\n"));
    const rows = [...errors.matchAll(/^\| `(\w+)` \| (\d{3}) \|/gm)].map(([, code, status]) => [
      code,
      Number(status),
    ]);
    expect(rows).toEqual(ERROR_CODE_NAMES.map((code) => [code, ERROR_CODES[code].status]));
  });

  test("a bare status means its code; 409 means Conflict, never AlreadyExists", () => {
    expect(errorCodeForStatus(404)).toBe("NotFound");
    expect(errorCodeForStatus(409)).toBe("Conflict");
    expect(errorCodeForStatus(503)).toBe("Unavailable");
    expect(errorCodeForStatus(418)).toBeUndefined();
  });
});
