import { defineCommand } from "citty";
import { clientArgs } from "../../common/args.ts";
import { useClient } from "../../common/context.ts";

export default defineCommand({
  meta: { name: "stop", description: "Stop an experiment: its faults end at once" },
  args: { ...clientArgs, id: { type: "positional", required: true, description: "Experiment id" } },
  async run({ args }) {
    const experiment = await useClient().stopExperiment(args.id);
    console.log(`experiment ${experiment.id} ${experiment.state}: ${experiment.reason}`);
  },
});
