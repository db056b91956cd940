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

  it('writes at once when a turn logs more than the buffer holds', () => {
    const { sink, writes, endTurn } = harness();
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 64; i += 1) sink(line);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toHaveLength(64 * 1024);
    sink('tail\n');
    endTurn();
    expect(writes).toEqual([line.repeat(64), 'tail\n']);
  });

  it('writes nothing for a turn that logged nothing', () => {
    const { sink, writes, endTurn } = harness();
    sink('one\n');
    endTurn();
    endTurn();
    expect(writes).toEqual(['one\n']);
  });
});
