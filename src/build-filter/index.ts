export { checkFilterModule } from "./check.ts";
export { type CompileOptions, compileFilter } from "./compile.ts";
export { buildEmbeddedFilter, type FilterBuild } from "./embedded.ts";
export { ascArgs, OUTPUT_NAME } from "./options.ts";
