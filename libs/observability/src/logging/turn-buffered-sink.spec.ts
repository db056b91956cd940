import { turnBufferedSink } from './turn-buffered-sink';

/** A sink over fake process hooks: writes recorded, the end of the turn and the exit run by the test. */
function harness() {
  const writes: string[] = [];
  let turnEnd: (() => void)[] = [];
  let exit: (() => void) | undefined;
  const sink = turnBufferedSink({
    write: (chunk) => writes.push(chunk),
    afterTurn: (flush) => turnEnd.push(flush),
    onExit: (flush) => (exit = flush),
  });
  return {
    sink,
    writes,
    endTurn: () => {
      const due = turnEnd;
      turnEnd = [];
      for (const flush of due) flush();
    },
    exit: () => exit?.(),
  };
}

describe('turnBufferedSink', () => {
  it('writes the lines of one turn together, in order, when the turn ends', () => {
    const { sink, writes, endTurn } = harness();
    sink('a\n');
    sink('b\n');
    expect(writes).toEqual([]);
    endTurn();
    expect(writes).toEqual(['a\nb\n']);
    sink('c\n');
    endTurn();
    expect(writes).toEqual(['a\nb\n', 'c\n']);
  });

  it('writes what is buffered when the process exits, and every later line at once', () => {
    const { sink, writes, exit, endTurn } = harness();
    sink('last words\n');
    exit();
    expect(writes).toEqual(['last words\n']);
    sink('from another exit handler\n');
    expect(writes).toEqual(['last words\n', 'from another exit handler\n']);
    endTurn();
    expect(writes).toHaveLength(2);
  });

  it('writes whole lines of at most PIPE_BUF bytes when a turn logs more', () => {
    const { sink, writes, endTurn } = harness();
    const line = `${'x'.repeat(999)}\n`;
    for (let i = 0; i < 10; i += 1) sink(line);
    expect(writes).toEqual([line.repeat(4), line.repeat(4)]);
    endTurn();
    expect(writes).toEqual([line.repeat(4), line.repeat(4), line.repeat(2)]);
  });

  it('counts bytes, not characters', () => {
    const { sink, writes, endTurn } = harness();
    // 1,000 characters, 1,999 bytes in UTF-8: two fit in PIPE_BUF, three do not.
    const line = `${'é'.repeat(999)}\n`;
    sink(line);
    sink(line);
    expect(writes).toEqual([]);
    sink(line);
    expect(writes).toEqual([line.repeat(2)]);
    endTurn();
    expect(writes).toEqual([line.repeat(2), line]);
  });

  it('writes a line longer than PIPE_BUF alone, after the lines before it', () => {
    const { sink, writes, endTurn } = harness();
    const long = `${'y'.repeat(5000)}\n`;
    sink('before\n');
    sink(long);
    sink('after\n');
    expect(writes).toEqual(['before\n', long]);
    endTurn();
    expect(writes).toEqual(['before\n', long, 'after\n']);
  });

  it('writes nothing for a turn that logged nothing', () => {
    const { sink, writes, endTurn } = harness();
    sink('one\n');
    endTurn();
    endTurn();
    expect(writes).toEqual(['one\n']);
  });
});
