import { z } from 'zod';

import { Timestamp } from '../common';

/** Server → client answer to `ping`, with the server's time. */
export const PongV1 = z.object({ ts: Timestamp });
export type PongV1 = z.infer<typeof PongV1>;
