#!/usr/bin/env bun
/** The `hfi` executable: every command is a lazily loaded citty subcommand; `run.ts` prints errors. */
import { defineCommand } from "citty";
import { HFI_VERSION } from "../version.ts";
import { clientArgs } from "./common/args.ts";
import { runCli } from "./run.ts";

const main = defineCommand({
  meta: { name: "hfi", version: HFI_VERSION, description: "Declarative HTTP fault injection for Envoy" },
  args: clientArgs,
  subCommands: {
    serve: () => import("./commands/serve.ts").then((m) => m.default),
    policy: () => import("./commands/policy/index.ts").then((m) => m.default),
    experiment: () => import("./commands/experiment/index.ts").then((m) => m.default),
    status: () => import("./commands/status.ts").then((m) => m.default),
    halt: () => import("./commands/halt.ts").then((m) => m.default),
    resume: () => import("./commands/resume.ts").then((m) => m.default),
    "build-filter": () => import("./commands/build-filter.ts").then((m) => m.default),
    version: () => import("./commands/version.ts").then((m) => m.default),
  },
});

process.exitCode = await runCli(main);
