export {
  onConfigure,
  onContextCreate,
  onDelete,
  onDone,
  onHttpCallResponse,
  onLog,
  onRequestHeaders,
  onResponseHeaders,
  onTick,
  onVmStart,
} from "./dispatch";
