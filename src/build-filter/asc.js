// The compiler, through a door of our own: asc's bundled .d.ts declares a global `console`
// namespace (only `log`) that breaks `console.error` for the whole program, so tsc reads asc.d.ts
// beside this file instead. Bun bundles the real module.
export { default } from "assemblyscript/asc";
