import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Calls `onLine` with each non-empty line a child prints on stdout or stderr, whole: a burst of output can reach the
 * reader split over two reads, and splitting each read on newlines would hand on the halves as two lines.
 */
export function onOutputLines(child: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line: string) => {
      if (line) onLine(line);
    });
  }
}
