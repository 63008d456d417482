/** What every page gets from the shell. */
export interface PageContext {
  /** The token may change things: write controls are shown (the server checks regardless). */
  canWrite: boolean;
  /** Said by the status live region, for screen readers and tests. */
  announce(message: string): void;
  /** A call failed where no one awaits it: shown in the page's error banner. */
  failed(error: unknown): void;
  navigate(hash: string): void;
}

export interface Mounted {
  /** Reads the API again (the config stream says something changed). */
  refresh(): Promise<void>;
  dispose(): void;
}

/** Renders into `main`, whose contents it owns until disposed. */
export type Page = (main: HTMLElement, context: PageContext, argument: string) => Mounted;
