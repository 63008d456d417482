export {
  onConfigure,
  onContextCreate,
  onDelete,
  onDone,
  onHttpCallResponse,
  onLog,
  onRequestBody,
  onRequestHeaders,
  onResponseBody,
  onResponseHeaders,
  onTick,
  onVmStart,
} from "./dispatch";
