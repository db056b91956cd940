import { randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
// Random bytes are drawn for 256 ids at a time (one call into the CSPRNG), as `crypto.randomUUID` caches them.
const pool = Buffer.alloc(16 * 256);
let used = pool.length;

/**
 * A UUID version 7 (RFC 9562): the Unix time in milliseconds in the first 48 bits, then 74 random bits. Ids made
 * close in time sort, and sit in an index, close together, so a new row touches the right-most pages of its primary
 * key's B-tree (SQLite and PostgreSQL alike) instead of a random page of it.
 */
export function uuidV7(now: number = Date.now()): string {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const bytes = pool.subarray(used, used + 16);
  used += 16;
  // 48-bit big-endian milliseconds: the upper 16 bits by division, as bitwise operators work on 32 bits.
  const high = Math.floor(now / 0x1_0000_0000);
  bytes[0] = (high >>> 8) & 0xff;
  bytes[1] = high & 0xff;
  bytes.writeUInt32BE(now >>> 0, 2);
  bytes[6] = 0x70 | ((bytes[6] ?? 0) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  let text = '';
  for (let index = 0; index < 16; index += 1) {
    if (index === 4 || index === 6 || index === 8 || index === 10) text += '-';
    text += HEX[bytes[index] ?? 0] ?? '';
  }
  return text;
}
