import { defineCommand } from "citty";
import { EXPERIMENT_STATES, type ExperimentState } from "../../../experiments/index.ts";
import { clientArgs, outputArgs } from "../../common/args.ts";
import { useClient } from "../../common/context.ts";
import { CommandError } from "../../common/errors.ts";
import { formatExperiments } from "../../common/format/experiments.ts";

export default defineCommand({
  meta: { name: "get", description: "List experiments, or show one" },
  args: {
    ...clientArgs,
    ...outputArgs,
    id: { type: "positional", required: false, description: "Experiment id; every experiment when omitted" },
    state: {
      type: "string",
      valueHint: "STATE",
      description: `Only those in STATE (${EXPERIMENT_STATES.join(", ")})`,
    },
  },
  async run({ args }) {
    if (args._.length > 1) throw new CommandError(`expected at most one ID, got ${args._.length}`);
    if (args.state !== undefined && !(EXPERIMENT_STATES as readonly string[]).includes(args.state)) {
      throw new CommandError(`--state: must be one of ${EXPERIMENT_STATES.join(", ")}`);
    }
    const client = useClient();
    const items = args.id
      ? [await client.getExperiment(args.id)]
      : (await client.listExperiments(args.state as ExperimentState | undefined)).items;
    if (items.length === 0 && (args.output === "table" || args.output === "wide")) {
      console.error("No resources found");
      return;
    }
    process.stdout.write(formatExperiments(items, args.output, new Date(), args.id !== undefined));
  },
});
