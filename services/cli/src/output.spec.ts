import { Writable } from 'node:stream';

import { Printer, Spinner, renderRecord, renderTable, truncate } from './output';

/** A stream that keeps what is written, TTY or not, `columns` wide. */
function fakeStream(isTTY: boolean, columns = 80) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  }) as unknown as NodeJS.WriteStream & { text(): string };
  Object.assign(stream, { isTTY, columns, text: () => chunks.join('') });
  return stream;
}

describe('CLI output', () => {
  const rows = [
    { id: 'a1', name: 'short', note: 'x' },
    { id: 'b2', name: 'a name much longer than the terminal has room for in a table column', note: 'y' },
  ];
  const columns = [
    { header: 'id', cell: (row: (typeof rows)[number]) => row.id },
    { header: 'name', cell: (row: (typeof rows)[number]) => row.name },
    { header: 'note', cell: (row: (typeof rows)[number]) => row.note },
  ];

  it('should cut text with an ellipsis only when it is too long', () => {
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdef', 4)).toBe('abc…');
  });

  it('should fit a table to the width, cutting the widest column with …', () => {
    const table = renderTable(rows, columns, 40).split('\n');
    expect(table).toHaveLength(3);
    for (const line of table) expect(line.length).toBeLessThanOrEqual(40);
    expect(table[0]).toMatch(/^ID\s+NAME\s+NOTE$/);
    expect(table[2]).toMatch(/^b2\s+a name much.*…\s+y$/);
    // Wide enough: nothing is cut.
    expect(renderTable(rows, columns, 200)).toContain(rows[1]?.name);
  });

  it('should print a record as aligned fields and nested values as JSON', () => {
    expect(renderRecord({ id: 'r1', output: { a: 1 }, error: null }, 80)).toBe('id      r1\noutput  {"a":1}\nerror');
  });

  it('should print json, yaml and NDJSON stream items', () => {
    const json = fakeStream(false);
    new Printer('json', json).list({ items: rows }, rows, columns);
    expect(JSON.parse(json.text())).toEqual({ items: rows });
    const yaml = fakeStream(false);
    new Printer('yaml', yaml).record({ id: 'r1', n: 2 });
    expect(yaml.text()).toBe('id: r1\nn: 2\n');
    const ndjson = fakeStream(false);
    const printer = new Printer('json', ndjson);
    printer.streamed({ seq: 1 }, 'one');
    printer.streamed({ seq: 2 }, 'two');
    expect(ndjson.text()).toBe('{"seq":1}\n{"seq":2}\n');
  });

  it('should draw a spinner on a TTY only, hiding the cursor meanwhile', () => {
    const exitListeners = process.listenerCount('exit');
    const tty = fakeStream(true);
    const spinner = new Spinner(tty, { TERM: 'xterm' });
    spinner.start('run r1: connecting');
    spinner.update('run r1: run.started');
    spinner.stop();
    spinner.stop();
    // eslint-disable-next-line no-control-regex -- the escape sequences are what the test looks for
    expect(tty.text()).toMatch(/^\x1b\[\?25l\r\x1b\[2K⠋ run r1: connecting \(0\.\ds\)\r\x1b\[2K⠋ run r1: run\.started \(0\.\ds\)\r\x1b\[2K\x1b\[\?25h$/);
    // The exit hook that restores the cursor is gone once the spinner stopped.
    expect(process.listenerCount('exit')).toBe(exitListeners);

    const dumb = fakeStream(true);
    const plain = new Spinner(dumb, { TERM: 'dumb' });
    plain.start('run r1: connecting');
    plain.stop();
    expect(dumb.text()).toBe('');

    const pipe = fakeStream(false);
    const quiet = new Spinner(pipe, { TERM: 'xterm' });
    quiet.start('run r1: connecting');
    quiet.update('run r1: run.started');
    quiet.stop();
    expect(pipe.text()).toBe('');
  });
});
