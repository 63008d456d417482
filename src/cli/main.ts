#!/usr/bin/env bun
/** The `hfi` executable: every command is a lazily loaded citty subcommand. */
import { defineCommand, runMain } from "citty";
import { HFI_VERSION } from "../version.ts";

const main = defineCommand({
  meta: { name: "hfi", version: HFI_VERSION, description: "Declarative HTTP fault injection for Envoy" },
  subCommands: {
    serve: () => import("./commands/serve.ts").then((m) => m.default),
    version: () => import("./commands/version.ts").then((m) => m.default),
  },
});

await runMain(main);
