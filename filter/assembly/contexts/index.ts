export {
  onConfigure,
  onContextCreate,
  onDelete,
  onDone,
  onHttpCallResponse,
  onRequestBody,
  onRequestHeaders,
  onResponseBody,
  onResponseHeaders,
  onTick,
  onVmStart,
} from "./dispatch";
