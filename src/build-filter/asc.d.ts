/** The part of `assemblyscript/asc`'s API this project uses. */
export interface AscOutputStream {
  toString(): string;
}

export interface AscOptions {
  readFile?: (filename: string, baseDir: string) => string | null | Promise<string | null>;
  writeFile?: (filename: string, contents: Uint8Array | string, baseDir: string) => void | Promise<void>;
  listFiles?: (dirname: string, baseDir: string) => string[] | null | Promise<string[] | null>;
}

export interface AscResult {
  error: Error | null;
  stdout: AscOutputStream;
  stderr: AscOutputStream;
}

declare const asc: {
  main(argv: string[], options?: AscOptions): Promise<AscResult>;
};
export default asc;
