/** Shapes shared by the `dbaas dev` modules (kept apart so they can import it without cycles). */

/** One human-readable progress line; the CLI decides where it goes. */
export type Log = (line: string) => void;

export interface DevStatus {
  home: string;
  docker: { host: string; ok: boolean; version?: string; error?: string };
  temporal: { address: string; ui: string; external: boolean; pid?: number; ok: boolean };
  worker: { pid?: number; ok: boolean };
  prometheus: { url: string; pid?: number; ok: boolean };
  dashboard: { url: string; pid?: number; ok: boolean };
}

/** Where the local (or external) Temporal server answers. */
export interface TemporalEndpoint {
  address: string;
  ui: string;
  /** Set only when this machine runs the server as our detached child. */
  pid?: number;
}
