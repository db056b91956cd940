import { spawn } from 'node:child_process';

import { onOutputLines } from './output-lines';

describe('onOutputLines', () => {
  it('hands on whole lines of stdout and stderr, however they were split, without blank ones', async () => {
    const script = `
      process.stdout.write('{"half":');
      setTimeout(() => { process.stdout.write('"one"}\\n\\n'); process.stderr.write('err\\n'); process.stdout.write('last, unterminated'); }, 50);
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    onOutputLines(child, (line) => lines.push(line));
    await new Promise((resolve) => child.once('close', resolve));
    expect(lines.sort()).toEqual(['err', 'last, unterminated', '{"half":"one"}']);
  });
});
