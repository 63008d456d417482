export {
  onConfigure,
  onContextCreate,
  onDelete,
  onDone,
  onHttpCallResponse,
  onLog,
  onRequestHeaders,
  onTick,
  onVmStart,
} from "./dispatch";
