import { defineCommand } from "citty";
import { clientArgs } from "../../common/args.ts";

export default defineCommand({
  meta: { name: "policy", description: "Create, list and delete FaultInjectionPolicies" },
  args: clientArgs,
  subCommands: {
    apply: () => import("./apply.ts").then((m) => m.default),
    get: () => import("./get.ts").then((m) => m.default),
    delete: () => import("./delete.ts").then((m) => m.default),
  },
});
