import type { LogSink } from './json-logger';

// A turn that logs more than this writes at once: the buffer never holds more than one large burst.
const MAX_BUFFERED_CHARS = 64 * 1024;

/** What a `TurnBufferedSink` needs from its process: the raw write, the end-of-turn hook and the exit hook. */
export interface TurnBufferedSinkDeps {
  write: (chunk: string) => void;
  afterTurn: (flush: () => void) => void;
  onExit: (flush: () => void) => void;
}

const processDeps: TurnBufferedSinkDeps = {
  write: (chunk) => {
    process.stdout.write(chunk);
  },
  afterTurn: (flush) => {
    setImmediate(flush);
  },
  onExit: (flush) => {
    process.once('exit', flush);
  },
};

/**
 * A sink that sends the lines written in one turn of the event loop in one write. A container's stdout is a pipe,
 * and Node writes to a pipe synchronously: at `info` every request cost a blocking `write` system call of its own.
 * The turn's lines leave at `setImmediate`, in order, and at once when the process exits (an `exit` handler runs no
 * later turn; lines written after it go straight out), so a line is late by at most the rest of its turn and only a
 * SIGKILL loses the turn's lines.
 */
export function turnBufferedSink(deps: TurnBufferedSinkDeps = processDeps): LogSink {
  let buffered = '';
  let scheduled = false;
  let exited = false;
  const flush = () => {
    scheduled = false;
    if (buffered === '') return;
    const chunk = buffered;
    buffered = '';
    deps.write(chunk);
  };
  deps.onExit(() => {
    exited = true;
    flush();
  });
  return (line) => {
    if (exited) return deps.write(line);
    buffered += line;
    if (buffered.length >= MAX_BUFFERED_CHARS) return flush();
    if (scheduled) return;
    scheduled = true;
    deps.afterTurn(flush);
  };
}

let shared: LogSink | undefined;

/** The process's one buffered stdout sink: every logger shares it, so their lines keep the order they were written in. */
export function stdoutSink(): LogSink {
  shared ??= turnBufferedSink();
  return shared;
}
