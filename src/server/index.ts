export { type AppOptions, createApp } from "./app.ts";
export { createLogger, type LogFormat, type Logger, type LoggerOptions } from "./logger.ts";
export { parseListen, type RunningServer, type ServerOptions, startServer } from "./serve.ts";
