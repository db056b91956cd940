import type { RunEventV1 } from '@skreaver/contracts';

import { EventFrame } from './event-frame';
import { RecentEntries } from './recent-entries';
import type { LiveEntry } from './subscription';

function entry(ms: number, output = ''): LiveEntry {
  const event = {
    id: `00000000-0000-4000-8000-000000000001:${ms}`,
    run_id: '00000000-0000-4000-8000-000000000001',
    agent_id: '00000000-0000-4000-8000-000000000002',
    tenant_id: 'default',
    seq: ms,
    ts: new Date(ms).toISOString(),
    type: 'run.output',
    data: { output },
  } as RunEventV1;
  return { id: `${ms}-0`, event, frame: new EventFrame(event) };
}

describe('RecentEntries', () => {
  it('should give the entries after a position it holds, up to the newest, and nothing after the newest', () => {
    const recent = new RecentEntries();
    for (let ms = 1; ms <= 5; ms++) recent.append(entry(ms));
    expect(recent.after('2-0')?.map((e) => e.id)).toEqual(['3-0', '4-0', '5-0']);
    expect(recent.after('1-0')?.map((e) => e.id)).toEqual(['2-0', '3-0', '4-0', '5-0']);
    expect(recent.after('5-0')).toEqual([]);
    // A position between two entries (another tenant's entry this replica never saw does not exist: the window has no gap).
    expect(recent.after('3-5')?.map((e) => e.id)).toEqual(['4-0', '5-0']);
  });

  it('should not answer for a position older than its oldest entry, nor when it is empty', () => {
    const recent = new RecentEntries();
    expect(recent.after('1-0')).toBeUndefined();
    recent.append(entry(10));
    expect(recent.after('9-0')).toBeUndefined();
    expect(recent.after('10-0')).toEqual([]);
  });

  it('should forget the oldest entries past 10,000', () => {
    const recent = new RecentEntries();
    for (let ms = 1; ms <= 10_050; ms++) recent.append(entry(ms));
    expect(recent.after('50-0')).toBeUndefined();
    expect(recent.after('51-0')?.length).toBe(9_999);
    expect(recent.after('10049-0')?.map((e) => e.id)).toEqual(['10050-0']);
  });

  it('should forget the oldest entries past 8 MB of events, keeping at least the newest', () => {
    const recent = new RecentEntries();
    const large = 'x'.repeat(1024 * 1024);
    for (let ms = 1; ms <= 12; ms++) recent.append(entry(ms, large));
    // Seven entries of just over 1 MB fit in 8 MB: 6 to 12.
    expect(recent.after('5-0')).toBeUndefined();
    expect(recent.after('6-0')?.map((e) => e.id)).toEqual(['7-0', '8-0', '9-0', '10-0', '11-0', '12-0']);
    const huge = new RecentEntries();
    huge.append(entry(1, 'x'.repeat(9 * 1024 * 1024)));
    expect(huge.after('1-0')).toEqual([]);
  });

  it("should count an entry by its stream JSON's length when given, without serialising its frame", () => {
    const recent = new RecentEntries();
    const small = entry(1);
    const wsText = jest.spyOn(small.frame, 'wsText', 'get');
    recent.append(small, 2 * 1024 * 1024);
    for (let ms = 2; ms <= 4; ms++) recent.append(entry(ms), 2 * 1024 * 1024);
    // Four entries counted at 2 MB each fill 8 MB: the next one evicts the oldest, small as its event is.
    recent.append(entry(5), 2 * 1024 * 1024);
    expect(recent.after('1-0')).toBeUndefined();
    expect(recent.after('2-0')?.map((e) => e.id)).toEqual(['3-0', '4-0', '5-0']);
    expect(wsText).not.toHaveBeenCalled();
  });
});
