/**
 * Entry of the hfi filter. AssemblyScript exports only what this file exports, so every proxy-wasm
 * callback is re-exported here. The abort handler is compiled in through the build's `--use abort=…`.
 */
import "./abi/abort";

export * from "./abi/exports";
