export {
  onConfigure,
  onContextCreate,
  onDelete,
  onDone,
  onHttpCallResponse,
  onLog,
  onRequestHeaders,
  onResponseBody,
  onResponseHeaders,
  onTick,
  onVmStart,
} from "./dispatch";
