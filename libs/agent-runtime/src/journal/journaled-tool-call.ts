import { z } from 'zod';

import type { ToolResult } from '../tools/tool-definition';
import type { JournalEntry } from './run-journal';
import type { RunReplay, StepClaim } from './run-replay';

const RecordedError = z.object({ code: z.string(), message: z.string(), retryable: z.boolean().default(false) });

/**
 * Journals a tool call's result and returns what the agent gets (the stored entry's result). A failure that may
 * succeed later (`retryable`: a timeout, an outage) or that the run's end caused (`aborted`) is not journaled: its
 * ordinal stays empty, so a later attempt executes that call again instead of replaying the failure.
 */
export async function journalToolCall(replay: RunReplay, claim: StepClaim, result: ToolResult, signal: AbortSignal): Promise<ToolResult> {
  if (!result.ok && (result.error.retryable || result.error.code === 'aborted' || signal.aborted)) return result;
  const stored = await replay.record(claim, result.ok, result.ok ? result.result : result.error);
  return replayedToolResult(stored);
}

/** The tool result a journal entry recorded. */
export function replayedToolResult(entry: JournalEntry): ToolResult {
  if (entry.ok) return { ok: true, result: entry.result };
  const error = RecordedError.safeParse(entry.result);
  return {
    ok: false,
    error: error.success ? error.data : { code: 'tool_error', message: 'the recorded failure is unreadable', retryable: false },
  };
}
