export { type AppOptions, createApp } from "./app.ts";
export { type AuthTokens, loadTokenFile, parseTokenFile, type Role } from "./auth.ts";
export {
  createLogger,
  isLogLevelName,
  LOG_LEVELS,
  type LogFormat,
  type Logger,
  type LoggerOptions,
  type LogLevelName,
} from "./logger.ts";
export { createMetrics, type Metrics } from "./metrics.ts";
export { parseListen, type RunningServer, type ServerOptions, startServer } from "./serve.ts";
