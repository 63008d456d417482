import { readFile } from "node:fs/promises";
import { text } from "node:stream/consumers";
import { setTimeout as sleep } from "node:timers/promises";
import { defineCommand } from "citty";
import { parse } from "yaml";
import type { ExperimentSpec } from "../../../api-types.ts";
import type { HfiClient } from "../../../client/index.ts";
import type { Experiment } from "../../../experiments/index.ts";
import { clientArgs, outputArgs } from "../../common/args.ts";
import { useClient } from "../../common/context.ts";
import { CommandError } from "../../common/errors.ts";
import { formatExperiments, formatResults, percent } from "../../common/format/experiments.ts";

const FINAL = new Set(["Completed", "Stopped", "Failed"]);
const WATCH_EVERY_MS = 500;
/** Piped, a progress line at most this often (a TTY redraws one line every WATCH_EVERY_MS). */
const PLAIN_PROGRESS_EVERY_MS = 5_000;
const BAR_WIDTH = 20;

export default defineCommand({
  meta: {
    name: "run",
    description: "Start an experiment from a file (YAML or JSON), and optionally watch it to its end",
  },
  args: {
    ...clientArgs,
    ...outputArgs,
    filename: {
      type: "string",
      alias: "f",
      required: true,
      valueHint: "FILE",
      description: "The experiment, or - for stdin",
    },
    watch: { type: "boolean", alias: "w", description: "Follow it to its end, then print its results" },
    "idempotency-key": {
      type: "string",
      valueHint: "KEY",
      description: "Retrying with the same KEY and file returns the experiment the first run started",
    },
  },
  async run({ args }) {
    const spec = await readSpec(args.filename);
    const client = useClient();
    const { experiment, created } = await client.startExperiment(spec, args["idempotency-key"]);
    if (!args.watch) {
      if (args.output === "json" || args.output === "yaml") {
        process.stdout.write(formatExperiments([experiment], args.output, new Date(), true));
      } else {
        console.log(
          `experiment ${experiment.id} ${created ? "started" : "already started"}: ${experiment.state}`,
        );
      }
      return;
    }
    if (args.output === "table" || args.output === "wide") {
      console.log(`experiment ${experiment.id} ${created ? "started" : "already started"}`);
    }
    const ended = await watch(client, experiment, args.output === "table" || args.output === "wide");
    process.stdout.write(formatResults(await client.getExperimentResults(ended.id), args.output));
    if (ended.state === "Failed")
      throw new CommandError(`experiment ${ended.id} failed: ${ended.reason}`, "Internal");
  },
});

async function readSpec(target: string): Promise<ExperimentSpec> {
  let source: string;
  try {
    source = target === "-" ? await text(process.stdin) : await readFile(target, "utf8");
  } catch (err) {
    throw new CommandError(`cannot read "${target}": ${(err as Error).message}`, "NotFound");
  }
  let value: unknown;
  try {
    value = parse(source);
  } catch (err) {
    throw new CommandError(`"${target}" is not YAML or JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CommandError(`"${target}" must hold one experiment object`);
  }
  // The server validates it completely and names the field; nothing here second-guesses it.
  return value as ExperimentSpec;
}

/**
 * Polls until the experiment ends. On a TTY one line is redrawn: state, time left as a bar, live
 * counts and error rate; piped (or with `-o json|yaml`, on stderr) a line per state change and a
 * progress line now and then.
 */
async function watch(client: HfiClient, started: Experiment, human: boolean): Promise<Experiment> {
  const out = human ? process.stdout : process.stderr;
  const tty = out.isTTY === true;
  let experiment = started;
  let lastState = "";
  let lastPlain = 0;
  for (;;) {
    if (experiment.state !== lastState) {
      if (tty) out.write("\r\x1b[K");
      out.write(`${experiment.state}: ${experiment.reason}\n`);
      lastState = experiment.state;
    }
    if (FINAL.has(experiment.state)) return experiment;
    const line = await progress(client, experiment);
    if (tty) {
      out.write(`\r\x1b[K${line}`);
    } else if (Date.now() - lastPlain >= PLAIN_PROGRESS_EVERY_MS) {
      out.write(`${line}\n`);
      lastPlain = Date.now();
    }
    await sleep(WATCH_EVERY_MS);
    experiment = await client.getExperiment(experiment.id);
  }
}

async function progress(client: HfiClient, experiment: Experiment): Promise<string> {
  const results = await client.getExperimentResults(experiment.id);
  const phase = results.phases.running ?? results.phases.baseline;
  const counts = phase
    ? `${phase.requests} requests, ${phase.injected} injected, errors ${percent(phase.errorRate)}`
    : "no traffic yet";
  if (!experiment.endsAt || !experiment.phases.running) return `${experiment.state} ${counts}`;
  const start = Date.parse(experiment.phases.running.startedAt);
  const end = Date.parse(experiment.endsAt);
  const done = Math.min(1, Math.max(0, (Date.now() - start) / (end - start)));
  const filled = Math.round(done * BAR_WIDTH);
  const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
  return `${experiment.state} [${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${left}s left, ${counts}`;
}
