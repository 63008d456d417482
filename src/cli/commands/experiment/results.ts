import { defineCommand } from "citty";
import { clientArgs, outputArgs } from "../../common/args.ts";
import { useClient } from "../../common/context.ts";
import { formatResults } from "../../common/format/experiments.ts";

export default defineCommand({
  meta: { name: "results", description: "What an experiment observed, per phase" },
  args: {
    ...clientArgs,
    ...outputArgs,
    id: { type: "positional", required: true, description: "Experiment id" },
  },
  async run({ args }) {
    process.stdout.write(formatResults(await useClient().getExperimentResults(args.id), args.output));
  },
});
