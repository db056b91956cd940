import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePorts } from './free-port';
import { redisNodeCall, redisNodeCommand as command, startOnFreshPorts, startRedisServer, stopProcess } from './redis-node';
import { waitFor } from './wait-for';

/** A Sentinel-managed Redis of the test's own: a primary, its replica and three sentinels on loopback ports. */
export interface PrivateRedisSentinel {
  /** `redis-sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/<masterName>`, the form services take as REDIS_URL. */
  readonly url: string;
  readonly masterName: string;
  /** Port of the server every sentinel names as the primary now. */
  primaryPort(): Promise<number>;
  /** Kills a data node (the primary or the replica) with SIGKILL, a crash: no shutdown, no final save. */
  kill(port: number): Promise<void>;
  /** A planned switchover (SENTINEL FAILOVER): the replica is promoted and the primary, alive, demoted. */
  switchover(): Promise<void>;
  /** Names of the client connections on data node `port`, other than the sentinels' and the replicas' own. */
  clientsOn(port: number): Promise<string[]>;
  /** Resolves once a replica of the current primary is in sync (so a killed primary can be replaced). */
  waitForReplica(): Promise<void>;
  /**
   * Resolves with the new primary's port once every sentinel names a primary other than `formerPort` and that server
   * says it is a master.
   */
  waitForFailover(formerPort: number, timeoutMs?: number): Promise<number>;
  /** Kills every process and deletes their files. */
  cleanup(): Promise<void>;
}

/** Options of `privateRedisSentinel`. */
export interface PrivateRedisSentinelOptions {
  /**
   * `sentinel down-after-milliseconds`: how long the primary may be unreachable before it counts as down and its
   * replica is promoted. Default 1000 ms (Redis's default of 30 s would make a failover test wait that long).
   */
  downAfterMs?: number;
  /**
   * Replicas of the primary; default 1. With 2, a second failover can follow a planned one at once: the demoted
   * primary turns replica only when the sentinels next look at it (their INFO period, 10 s), the other replica at once.
   */
  replicas?: number;
}

// Two of the three sentinels must agree that the primary is down, and a majority must elect the one that fails it over.
const QUORUM = 2;
const SENTINELS = 3;

/**
 * Starts a primary and its replicas (`redis-server`, AOF on with `appendfsync everysec` like production) and three
 * sentinels (`redis-server --sentinel`) watching them, all on free 127.0.0.1 ports, and resolves once every sentinel
 * knows the replicas and the other two sentinels (before that, a killed primary would not be failed over).
 */
export async function privateRedisSentinel(options: PrivateRedisSentinelOptions = {}): Promise<PrivateRedisSentinel> {
  const masterName = 'skreaver-test';
  const downAfterMs = options.downAfterMs ?? 1_000;
  const replicaCount = options.replicas ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'skreaver-redis-sentinel-'));
  const children = new Map<number, ChildProcess>();
  const dataPorts: number[] = [];
  const sentinelPorts: number[] = [];

  const start = async (port: number, args: string[]) => {
    children.set(port, await startRedisServer(port, args));
  };
  const kill = async (port: number) => {
    const child = children.get(port);
    children.delete(port);
    await stopProcess(child, 'SIGKILL');
  };
  const killAll = () => Promise.all([...children.keys()].map(kill));
  const primaryPorts = async () =>
    (await Promise.all(sentinelPorts.map((port) => sentinelCall(port, 'GET-MASTER-ADDR-BY-NAME', masterName)))).map((address) =>
      Number((address as string[])[1]),
    );

  const primaryPort = async () => {
    const named = await primaryPorts();
    if (new Set(named).size !== 1) throw new Error(`the sentinels disagree on the primary: ${named.join(', ')}`);
    return named[0] ?? 0;
  };
  // A replica counts when no sentinel flags it down or disconnected.
  const readyToFailOver = () =>
    waitFor(
      async () => {
        const replicas = await Promise.all(sentinelPorts.map((port) => sentinelCall(port, 'REPLICAS', masterName)));
        const peers = await Promise.all(sentinelPorts.map((port) => sentinelCall(port, 'SENTINELS', masterName)));
        const healthy = (replica: unknown) => !/s_down|o_down|disconnected/.test(flagsOf(replica));
        return replicas.every((list) => list.filter(healthy).length === replicaCount) && peers.every((list) => list.length === SENTINELS - 1);
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'every sentinel to know a healthy replica and the other sentinels' },
    );

  const startAll = async () => {
    const chosen = await freePorts(1 + replicaCount + SENTINELS);
    for (const role of ['primary', ...Array.from({ length: replicaCount }, () => 'replica')]) {
      const port = chosen.shift() ?? 0;
      const nodeDir = join(dir, String(port));
      rmSync(nodeDir, { recursive: true, force: true });
      mkdirSync(nodeDir);
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir, '--appendonly', 'yes', '--save', ''];
      // A replica told to follow another primary may need a full sync, which Redis delays 5 s by default to batch
      // replicas; a test has no batch to wait for.
      args.push('--logfile', join(nodeDir, 'redis.log'), '--repl-diskless-sync-delay', '0');
      if (role === 'replica') args.push('--replicaof', '127.0.0.1', String(dataPorts[0]));
      await start(port, args);
      dataPorts.push(port);
    }
    for (const port of dataPorts.slice(1)) {
      await waitFor(async () => /master_link_status:up/.test(await command(port, 'INFO', 'replication')), {
        timeoutMs: 20_000,
        what: `replica ${port} in sync with the primary`,
      });
    }
    for (let i = 0; i < SENTINELS; i += 1) {
      const port = chosen.shift() ?? 0;
      const sentinelDir = join(dir, `sentinel-${port}`);
      rmSync(sentinelDir, { recursive: true, force: true });
      mkdirSync(sentinelDir);
      // A sentinel rewrites its config file (what it learned, the current primary): each has its own.
      const config = join(sentinelDir, 'sentinel.conf');
      writeFileSync(
        config,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${sentinelDir}`,
          `logfile ${join(sentinelDir, 'sentinel.log')}`,
          `sentinel monitor ${masterName} 127.0.0.1 ${dataPorts[0]} ${QUORUM}`,
          `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
          `sentinel failover-timeout ${masterName} 10000`,
          '',
        ].join('\n'),
      );
      await start(port, [config, '--sentinel']);
      sentinelPorts.push(port);
    }
    // Sentinels learn the replica from the primary's INFO and each other from hello messages (every 2 s).
    await readyToFailOver();
  };

  try {
    await startOnFreshPorts(startAll, async () => {
      await killAll();
      dataPorts.length = 0;
      sentinelPorts.length = 0;
    });
  } catch (error) {
    await killAll();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    url: `redis-sentinel://${sentinelPorts.map((port) => `127.0.0.1:${port}`).join(',')}/${masterName}`,
    masterName,
    primaryPort,
    kill,
    async switchover() {
      await sentinelCall(sentinelPorts[0] ?? 0, 'FAILOVER', masterName);
    },
    async clientsOn(port) {
      const lines = (await command(port, 'CLIENT', 'LIST')).split('\n').filter(Boolean);
      const field = (line: string, name: string) => new RegExp(`(?:^| )${name}=(\\S*)`).exec(line)?.[1] ?? '';
      // The probe's own connection runs CLIENT LIST; replicas carry flag S; sentinels name theirs sentinel-….
      return lines
        .filter((line) => field(line, 'cmd') !== 'client|list' && !field(line, 'flags').includes('S') && !field(line, 'name').startsWith('sentinel-'))
        .map((line) => field(line, 'name'));
    },
    async waitForReplica() {
      const primary = await primaryPort();
      await waitFor(async () => /^slave\d+:.*state=online/m.test(await command(primary, 'INFO', 'replication')), {
        timeoutMs: 20_000,
        what: `a replica of ${primary} in sync`,
      });
    },
    async waitForFailover(formerPort, timeoutMs = 30_000) {
      return waitFor(
        async () => {
          const named = await primaryPorts();
          const [port] = named;
          if (port === undefined || port === formerPort || named.some((other) => other !== port)) return false;
          return /role:master/.test(await command(port, 'INFO', 'replication')) && port;
        },
        { timeoutMs, intervalMs: 100, what: `the sentinels to promote a replica of ${formerPort}` },
      ).catch(async (error: Error) => {
        // What the sentinels saw, for the failure message.
        const views = await Promise.all(sentinelPorts.map((port) => command(port, 'SENTINEL', 'MASTER', masterName).catch((e: Error) => e.message)));
        const logs = sentinelPorts.map((port) => {
          const lines = readFileSync(join(dir, `sentinel-${port}`, 'sentinel.log'), 'utf8').split('\n');
          return `sentinel ${port}:\n${lines.slice(-15).join('\n')}`;
        });
        throw new Error(`${error.message}\n${views.join('\n')}\n${logs.join('\n')}`);
      });
    },
    async cleanup() {
      await killAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A SENTINEL subcommand's reply (arrays stay arrays). */
async function sentinelCall(port: number, ...args: string[]): Promise<unknown[]> {
  return (await redisNodeCall(port, 'SENTINEL', ...args)) as unknown[];
}

/** The `flags` field of a SENTINEL REPLICAS entry (a flat [name, value, …] list). */
function flagsOf(entry: unknown): string {
  const fields = Array.isArray(entry) ? (entry as unknown[]).map(String) : [];
  return fields[fields.indexOf('flags') + 1] ?? '';
}
