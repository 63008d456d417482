import { defineCommand } from "citty";
import { startServer } from "../../server/index.ts";

export default defineCommand({
  meta: { name: "serve", description: "Run the control plane (policy API + config distribution)" },
  args: {
    listen: { type: "string", description: "Address to listen on (host:port)", default: "0.0.0.0:8080" },
  },
  async run({ args }) {
    const server = await startServer({ listen: args.listen });
    const stop = async () => {
      await server.stop();
      process.exit(0);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  },
});
