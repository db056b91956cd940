/** Commands the bench sends a raw baseline child over IPC. */
export type RawCommand =
  | { cmd: 'burst'; count: number; batch: number }
  | { cmd: 'rate'; rate: number; durationMs: number }
  | { cmd: 'clients' };

/** What a raw child answers: `ready` once listening, `done` when a command finished. */
export interface RawReply {
  ready?: boolean;
  port?: number;
  done?: RawCommand['cmd'];
  count?: number;
}
