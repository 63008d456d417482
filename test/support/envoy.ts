/** A real Envoy started from a config file, as the local stack and the benchmarks run it. */
import { ENVOY_BIN } from "./paths.ts";
import { type Spawned, spawnLogged, waitForUrl } from "./process.ts";

/**
 * Starts Envoy on `configFile` (hot restart off, so several can run side by side) and resolves once
 * its admin endpoint on `adminPort` says ready (an Envoy that never does is killed). `extraArgs` go
 * after the usual ones.
 */
export async function startEnvoy(options: {
  configFile: string;
  logFile: string;
  adminPort: number;
  concurrency: number;
  extraArgs?: string[];
}): Promise<Spawned> {
  const { configFile, logFile, adminPort, concurrency, extraArgs = [] } = options;
  const envoy = spawnLogged(
    [
      ENVOY_BIN,
      "-c",
      configFile,
      "--concurrency",
      String(concurrency),
      "--disable-hot-restart",
      "--log-level",
      "warn",
      ...extraArgs,
    ],
    logFile,
  );
  try {
    await waitForUrl(`http://127.0.0.1:${adminPort}/ready`, envoy);
  } catch (err) {
    envoy.proc.kill();
    throw err;
  }
  return envoy;
}
