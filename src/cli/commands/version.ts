import { defineCommand } from "citty";
import { RULESET_FORMAT } from "../../ruleset/format.ts";
import { GIT_COMMIT, HFI_VERSION, PROXY_WASM_ABI } from "../../version.ts";

export default defineCommand({
  meta: { name: "version", description: "Print version, commit, RuleSet format and proxy-wasm ABI" },
  run() {
    console.log(`hfi ${HFI_VERSION}`);
    console.log(`commit: ${GIT_COMMIT}`);
    console.log(`ruleset format: ${RULESET_FORMAT}`);
    console.log(`proxy-wasm ABI: ${PROXY_WASM_ABI}`);
  },
});
