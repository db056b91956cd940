import { readFileSync } from 'node:fs';

/** The kernel's TCP counters that show a listen queue overflowing (Linux, this network namespace). */
export interface TcpCounters {
  /** Connections completed but dropped because the listener's accept queue was full. */
  listenOverflows: number;
  /** SYNs and ACKs dropped at a listener for any reason (overflows included). */
  listenDrops: number;
  /** SYNs sent again because the first got no answer (1 s, then 3 s, 7 s, … after the connect). */
  synRetransmits: number;
}

/** Reads TcpExt from /proc/net/netstat; zeros where it cannot be read (not Linux). */
export function tcpCounters(): TcpCounters {
  const fields = new Map<string, number>();
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((line) => line.startsWith('TcpExt:'));
    const [names, values] = lines.map((line) => line.split(/\s+/).slice(1));
    names?.forEach((name, i) => fields.set(name, Number(values?.[i] ?? 0)));
  } catch {
    // Not Linux.
  }
  return {
    listenOverflows: fields.get('ListenOverflows') ?? 0,
    listenDrops: fields.get('ListenDrops') ?? 0,
    synRetransmits: fields.get('TCPSynRetrans') ?? 0,
  };
}

export function tcpCountersSince(before: TcpCounters): TcpCounters {
  const now = tcpCounters();
  return {
    listenOverflows: now.listenOverflows - before.listenOverflows,
    listenDrops: now.listenDrops - before.listenDrops,
    synRetransmits: now.synRetransmits - before.synRetransmits,
  };
}
