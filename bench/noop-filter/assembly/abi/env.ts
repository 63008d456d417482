// @ts-nocheck: AssemblyScript (asc compiles it; tsc sees bench/** as TypeScript).
/** The only host import. A declared function in a file named env.ts is imported as `env.<name>`. */
export declare function proxy_log(level: u32, messagePtr: usize, messageSize: usize): u32;
