import type { JsonValue } from '@skreaver/contracts';

import { AgentFailure } from '../agent-errors';
import type { RunReplay } from './run-replay';

/** Options of `context.step`. */
export interface StepOptions {
  /** `model` for a call to a model (the `llm` kind's); default `step`. */
  kind?: 'step' | 'model';
}

/**
 * `context.step(name, fn)`: the recorded result when the journal holds this step, else `fn`'s result once journaled.
 * Only a result is journaled: when `fn` throws, the next attempt calls it again.
 */
export async function journaledStep<T extends JsonValue>(
  replay: RunReplay,
  isOpen: () => boolean,
  name: string,
  fn: () => Promise<T>,
  options: StepOptions = {},
): Promise<T> {
  if (!isOpen()) throw new AgentFailure('run_closed', 'the run has ended; the step was not run', true);
  const claim = replay.claim(options.kind ?? 'step', name);
  if (claim.recorded) return claim.recorded.result as T;
  const value = await fn();
  const stored = await replay.record(claim, true, value);
  return stored.result as T;
}
