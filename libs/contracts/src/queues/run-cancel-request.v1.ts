import { z } from 'zod';

import { RunId } from '../common';

/** Pub/sub message asking the coordinator that runs `run_id` to abort it. */
export const RunCancelRequestV1 = z.object({ run_id: RunId, reason: z.string().max(1_000) });
export type RunCancelRequestV1 = z.infer<typeof RunCancelRequestV1>;

/** Channel (under the deployment's key prefix) that carries `RunCancelRequestV1`. */
export const RUN_CANCEL_CHANNEL = 'run-cancel.v1';
