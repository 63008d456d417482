export {
  onConfigure,
  onContextCreate,
  onDelete,
  onDone,
  onHttpCallResponse,
  onRequestHeaders,
  onTick,
  onVmStart,
} from "./dispatch";
