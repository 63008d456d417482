import { HeadersAction } from "../abi/enums";
import { injectAbort, isSampled } from "../fault";
import { findRule } from "../matcher";
import { HostRequest } from "./request";
import { RootContext } from "./root";

const request = new HostRequest();

/** One HTTP stream: decides on its request headers whether, and how, to fault it. */
export class StreamContext {
  constructor(private readonly root: RootContext) {}

  onRequestHeaders(): HeadersAction {
    const ruleSet = this.root.rules.current;
    if (ruleSet == null) return HeadersAction.Continue;
    const rule = findRule(ruleSet.rules, request.reset());
    if (rule == null || !isSampled(rule.fault)) return HeadersAction.Continue;
    const abort = rule.fault.abort;
    if (abort == null) return HeadersAction.Continue;
    injectAbort(rule.name, abort);
    this.root.faultInjected();
    return HeadersAction.Pause;
  }
}
