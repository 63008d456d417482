// @ts-nocheck: AssemblyScript (asc compiles it; tsc sees bench/** as TypeScript).
/** The host imports. A declared function in a file named env.ts is imported as `env.<name>`. */
export declare function proxy_log(level: u32, messagePtr: usize, messageSize: usize): u32;

export declare function proxy_send_local_response(
  statusCode: u32,
  detailsPtr: usize,
  detailsLen: usize,
  bodyPtr: usize,
  bodyLen: usize,
  headersPtr: usize,
  headersLen: usize,
  grpcStatus: i32,
): u32;
