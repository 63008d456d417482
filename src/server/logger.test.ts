import { expect, spyOn, test } from "bun:test";
import { createLogger } from "./logger.ts";

test("the json format writes one object per line: time, level, msg, then the fields", () => {
  const lines: string[] = [];
  const write = spyOn(process.stdout, "write").mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    const logger = createLogger({ format: "json" });
    logger.info("request", { method: "GET", status: 200 });
    logger.error("unhandled error", new Error("boom"));
    logger.debug("hidden at the default level");
  } finally {
    write.mockRestore();
  }
  expect(lines).toHaveLength(2);
  expect(lines.every((line) => line.endsWith("}\n") && !line.slice(0, -1).includes("\n"))).toBe(true);
  const [request, failure] = lines.map((line) => JSON.parse(line));
  expect(Object.keys(request)).toEqual(["time", "level", "msg", "method", "status"]);
  expect(request).toMatchObject({ level: "info", msg: "request", method: "GET", status: 200 });
  expect(failure).toMatchObject({ level: "error", msg: "unhandled error", error: "boom" });
  expect(failure.stack).toContain("logger.test.ts");
});
