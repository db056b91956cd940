import { defineStream } from '@skreaver/contracts';
import { z } from 'zod';

import { ContractViolationError } from './contract-violation.error';
import { decodeEntry, entriesOfReadReply, fieldsToRecord } from './stream-entry';

const Pings = defineStream({ name: 'test.pings', version: 1, schema: z.object({ n: z.number().int() }), partitioned: false, maxLen: 10 });

describe(decodeEntry.name, () => {
  it('should parse the data field with the stream schema', () => {
    expect(decodeEntry(Pings, ['data', '{"n":3}'])).toEqual({ ok: true, payload: { n: 3 }, jsonLength: 7 });
  });

  it('should reject an entry without a data field', () => {
    const result = decodeEntry(Pings, ['other', '{}']);
    expect(result.ok).toBe(false);
  });

  it('should reject data that is not JSON', () => {
    const result = decodeEntry(Pings, ['data', 'not json']);
    expect(!result.ok && result.error.message).toMatch(/not JSON/);
  });

  it('should report schema mismatches as a ContractViolationError naming the stream and path', () => {
    const result = decodeEntry(Pings, ['data', '{"n":"three"}']);
    expect(!result.ok && result.error).toBeInstanceOf(ContractViolationError);
    expect(!result.ok && result.error.message).toMatch(/stream test\.pings\.v1.*n:/);
  });

  it('should treat a deleted entry (null fields) as invalid', () => {
    expect(decodeEntry(Pings, null).ok).toBe(false);
  });
});

describe(entriesOfReadReply.name, () => {
  it('should return no entries for a timed-out read', () => {
    expect(entriesOfReadReply(null)).toEqual([]);
  });

  it('should return the first stream entries', () => {
    expect(entriesOfReadReply([['key', [['1-0', ['data', '{}']]]]])).toEqual([['1-0', ['data', '{}']]]);
  });

  it('should refuse a malformed reply', () => {
    expect(() => entriesOfReadReply([['key', [[1, 'x']]]])).toThrow(/malformed/);
  });
});

describe(fieldsToRecord.name, () => {
  it('should pair keys and values', () => {
    expect(fieldsToRecord(['a', '1', 'b', '2'])).toEqual({ a: '1', b: '2' });
  });
});
