import { defineCommand } from "citty";
import { clientArgs } from "../../common/args.ts";

export default defineCommand({
  meta: { name: "experiment", description: "Run a fault for a time, observe its effect, stop on harm" },
  args: clientArgs,
  subCommands: {
    run: () => import("./run.ts").then((m) => m.default),
    get: () => import("./get.ts").then((m) => m.default),
    stop: () => import("./stop.ts").then((m) => m.default),
    results: () => import("./results.ts").then((m) => m.default),
  },
});
