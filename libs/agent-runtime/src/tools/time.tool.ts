import { z } from 'zod';

import { defineTool } from './tool-definition';

const OFFSET = /^([+-])(\d{2}):(\d{2})$/;

/** `time`: the current time as ISO-8601 and epoch, optionally at a UTC offset. */
export const timeTool = defineTool({
  name: 'time',
  description: 'The current time: ISO-8601 (at utc_offset, e.g. "+05:30", when given; UTC otherwise), epoch milliseconds and epoch seconds.',
  inputSchema: z.strictObject({
    utc_offset: z
      .string()
      .regex(OFFSET, 'an offset like +05:30 or -08:00')
      .refine((offset) => {
        const [, , hours = '0', minutes = '0'] = OFFSET.exec(offset) ?? [];
        return Number(hours) <= 14 && Number(minutes) < 60;
      }, 'at most ±14:00')
      .optional(),
  }),
  async run(input) {
    const now = Date.now();
    return { iso: formatAtOffset(now, input.utc_offset), epoch_ms: now, epoch_s: Math.floor(now / 1000), utc_offset: input.utc_offset ?? '+00:00' };
  },
});

/** `epochMs` as ISO-8601 with milliseconds at `offset` (`Z` when none). */
export function formatAtOffset(epochMs: number, offset: string | undefined): string {
  const match = offset ? OFFSET.exec(offset) : null;
  if (!match) return new Date(epochMs).toISOString();
  const [, sign, hours = '0', minutes = '0'] = match;
  const shiftMs = (sign === '-' ? -1 : 1) * (Number(hours) * 60 + Number(minutes)) * 60_000;
  // The shifted instant printed as UTC reads as local time at the offset; swap the Z for the offset.
  return `${new Date(epochMs + shiftMs).toISOString().slice(0, -1)}${offset}`;
}
