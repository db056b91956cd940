import type { RunActivity } from '@skreaver/contracts';

import { ActivityStream } from './activity-stream';

describe(ActivityStream.name, () => {
  let written: RunActivity[];
  const sink = async (activity: RunActivity) => {
    written.push(activity);
  };
  const deltas = () => written.flatMap((activity) => (activity.type === 'message.delta' ? [activity.data] : []));

  beforeEach(() => {
    written = [];
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('should coalesce small deltas and write them once the delay has passed', async () => {
    const stream = new ActivityStream(sink, 1);

    for (const text of ['Hel', 'lo, ', 'world']) await stream.delta(text, 2);
    expect(written).toEqual([]);
    await jest.advanceTimersByTimeAsync(49);
    expect(written).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);

    expect(written).toEqual([{ type: 'message.delta', data: { attempt: 1, step: 2, index: 0, text: 'Hello, world' } }]);
  });

  it('should write at once when 64 characters wait', async () => {
    const stream = new ActivityStream(sink, 1);

    await stream.delta('a'.repeat(40));
    await stream.delta('b'.repeat(30));

    expect(deltas()).toEqual([{ attempt: 1, index: 0, text: `${'a'.repeat(40)}${'b'.repeat(30)}` }]);
  });

  it('should flush waiting text before any other activity, keeping the order', async () => {
    const stream = new ActivityStream(sink, 2);

    await stream.delta('thinking', 1);
    await stream.send({ type: 'run.step', data: { attempt: 2, step: 2, name: 'llm' } });
    await stream.delta('answer', 2);
    await stream.flush();

    expect(written.map((activity) => activity.type)).toEqual(['message.delta', 'run.step', 'message.delta']);
    expect(deltas()).toEqual([
      { attempt: 2, step: 1, index: 0, text: 'thinking' },
      { attempt: 2, step: 2, index: 1, text: 'answer' },
    ]);
  });

  it('should number deltas consecutively from the given first index, also when a long text is split', async () => {
    const stream = new ActivityStream(sink, 3, 10, { maxChars: 64, maxDelayMs: 50, maxEventChars: 100 });

    await stream.delta('x'.repeat(250));
    await stream.delta('y');
    await stream.flush();

    expect(deltas().map((delta) => [delta.index, delta.text.length])).toEqual([
      [10, 100],
      [11, 100],
      [12, 50],
      [13, 1],
    ]);
    expect(stream.nextDeltaIndex).toBe(14);
  });

  it('should not split a surrogate pair between two events', async () => {
    const stream = new ActivityStream(sink, 1, 0, { maxChars: 4, maxDelayMs: 50, maxEventChars: 3 });

    await stream.delta('ab👋c');

    expect(deltas().map((delta) => delta.text)).toEqual(['ab', '👋c']);
  });

  it('should flush when the step changes so one event never mixes two steps', async () => {
    const stream = new ActivityStream(sink, 1);

    await stream.delta('one', 1);
    await stream.delta('two', 2);
    await stream.flush();

    expect(deltas()).toEqual([
      { attempt: 1, step: 1, index: 0, text: 'one' },
      { attempt: 1, step: 2, index: 1, text: 'two' },
    ]);
  });

  it('should drop waiting text when stopped', async () => {
    const stream = new ActivityStream(sink, 1);

    await stream.delta('never written');
    stream.stop();
    await jest.advanceTimersByTimeAsync(100);

    expect(written).toEqual([]);
  });

  it('should fail the next call after a timed flush could not write', async () => {
    const stream = new ActivityStream(async () => {
      throw new Error('log down');
    }, 1);

    await stream.delta('lost');
    await jest.advanceTimersByTimeAsync(50);

    await expect(stream.delta('more')).rejects.toThrow('log down');
  });
});
