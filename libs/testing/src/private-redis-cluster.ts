import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { freePorts } from './free-port';
import { redisNodeCommand as command, startOnFreshPorts, startRedisServer, stopProcess } from './redis-node';
import { waitFor } from './wait-for';

const run = promisify(execFile);

/** A node of a `PrivateRedisCluster` as the cluster sees it now. */
export interface ClusterNodeState {
  readonly port: number;
  readonly role: 'master' | 'replica';
  /** Port of its master, for a replica. */
  readonly masterPort?: number;
  /** Slot ranges served, for a master. */
  readonly slots: string[];
}

/** A Redis Cluster of the test's own: redis-server processes on loopback ports, started and removed by the test. */
export interface PrivateRedisCluster {
  /** `redis-cluster://127.0.0.1:p1,…` naming every node. */
  readonly url: string;
  readonly ports: readonly number[];
  /** Every node still running, as the surviving nodes see it (CLUSTER NODES of one of them). */
  nodes(): Promise<ClusterNodeState[]>;
  /** Port of the master now serving the hash slot of `key` (or of a sharded channel), as the surviving nodes see it. */
  masterOf(key: string): Promise<number | undefined>;
  /** Kills a node with SIGKILL (a crash: no shutdown, no final save) and waits until the process is gone. */
  kill(port: number): Promise<void>;
  /** Resolves once every running node reports `cluster_state:ok` and every slot is served by a running master. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** Kills every node and deletes their files. */
  cleanup(): Promise<void>;
}

/** Options of `privateRedisCluster`. */
export interface PrivateRedisClusterOptions {
  /** Masters (each with `replicasPerMaster` replicas); default 3. */
  masters?: number;
  /** Default 1. */
  replicasPerMaster?: number;
  /**
   * `cluster-node-timeout`: how long a master may be unreachable before its replica takes over. Default 1500 ms (the
   * Redis default of 15 s would make a failover test wait that long).
   */
  nodeTimeoutMs?: number;
}

/**
 * Starts a Redis Cluster from `redis-server` and `redis-cli` (both must be on PATH): `masters × (1 + replicas)` nodes
 * on free 127.0.0.1 ports, AOF on (`appendfsync everysec`, the production default), created with
 * `redis-cli --cluster create … --cluster-replicas N`, and waits until `cluster_state:ok`.
 */
export async function privateRedisCluster(options: PrivateRedisClusterOptions = {}): Promise<PrivateRedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_500;
  const dir = mkdtempSync(join(tmpdir(), 'skreaver-redis-cluster-'));
  const children = new Map<number, ChildProcess>();
  const ports: number[] = [];

  const killAll = async () => {
    await Promise.all([...children.keys()].map((port) => kill(port)));
  };
  const kill = async (port: number) => {
    const child = children.get(port);
    children.delete(port);
    await stopProcess(child, 'SIGKILL');
  };

  const startNodes = async () => {
    // The cluster bus ports are chosen too: the default (port + 10000) may be taken or above 65535.
    const chosen = await freePorts(2 * masters * (1 + replicas));
    for (let i = 0; i < chosen.length; i += 2) {
      const port = chosen[i] ?? 0;
      const busPort = chosen[i + 1] ?? 0;
      const nodeDir = join(dir, String(port));
      rmSync(nodeDir, { recursive: true, force: true });
      mkdirSync(nodeDir);
      const args = [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir,
        '--cluster-enabled', 'yes', '--cluster-config-file', join(nodeDir, 'nodes.conf'),
        '--cluster-port', String(busPort), '--cluster-node-timeout', String(nodeTimeoutMs),
        // A replica whose last word from its master is older than node-timeout × 10 + the 10 s replication ping
        // refuses to stand for election; with a short node timeout on a loaded machine that left a killed master
        // unreplaced (seen in CI). Production keeps Redis's default; a test cluster always fails over.
        '--cluster-replica-validity-factor', '0',
        '--appendonly', 'yes', '--save', '', '--logfile', join(nodeDir, 'redis.log'),
      ];
      children.set(port, await startRedisServer(port, args));
      ports.push(port);
    }
  };

  try {
    await startOnFreshPorts(startNodes, async () => {
      await killAll();
      ports.length = 0;
    });
    await run('redis-cli', [
      '--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas', String(replicas), '--cluster-yes',
    ]);
  } catch (error) {
    await killAll();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const running = () => [...children.keys()];
  const nodes = async (): Promise<ClusterNodeState[]> => {
    const [first] = running();
    if (first === undefined) return [];
    return parseClusterNodes(await command(first, 'CLUSTER', 'NODES')).filter((node) => children.has(node.port));
  };

  const cluster: PrivateRedisCluster = {
    url: `redis-cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`,
    ports,
    nodes,
    async masterOf(key) {
      const [first] = running();
      if (first === undefined) return undefined;
      const slot = Number(await command(first, 'CLUSTER', 'KEYSLOT', key));
      const serving = (await nodes()).find(
        (node) =>
          node.role === 'master' &&
          node.slots.some((range) => {
            const [from = NaN, to = from] = range.split('-').map(Number);
            return slot >= from && slot <= to;
          }),
      );
      return serving?.port;
    },
    kill,
    async waitUntilHealthy(timeoutMs = 30_000) {
      await waitFor(
        async () => {
          for (const port of running()) {
            if (!/cluster_state:ok/.test(await command(port, 'CLUSTER', 'INFO'))) return false;
          }
          // Every node must also agree on who serves the slots: a just-promoted replica is known to all.
          const views = await Promise.all(running().map(async (port) => parseClusterNodes(await command(port, 'CLUSTER', 'NODES'))));
          return views.every((view) => view.filter((node) => node.role === 'master' && node.slots.length > 0).every((node) => children.has(node.port)));
        },
        { timeoutMs, intervalMs: 100, what: 'cluster_state:ok on every node' },
      ).catch(async (error: Error) => {
        // What the nodes think, for the failure message: who failed, who serves what.
        const views = await Promise.all(running().map((port) => command(port, 'CLUSTER', 'NODES').catch((e: Error) => e.message)));
        const logs = running().map((port) => {
          const lines = readFileSync(join(dir, String(port), 'redis.log'), 'utf8').split('\n').filter((line) => /#/.test(line));
          return `node ${port} warnings:\n${lines.slice(-12).join('\n')}`;
        });
        throw new Error(`${error.message}\n${views.map((view, i) => `node ${running()[i]}:\n${view}`).join('\n')}\n${logs.join('\n')}`);
      });
    },
    async cleanup() {
      await killAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.waitUntilHealthy();
  // A replica that has not finished its first sync counts as too stale to be promoted: a master killed before then
  // would never be replaced. So the cluster is handed out once every replica is in sync.
  await waitFor(
    async () => {
      for (const node of await nodes()) {
        if (node.role === 'replica' && !/master_link_status:up/.test(await command(node.port, 'INFO', 'replication'))) return false;
      }
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: 'every replica in sync with its master' },
  );
  return cluster;
}

/** Lines of CLUSTER NODES: `<id> <ip:port@bus> <flags> <master-id> <ping> <pong> <epoch> <link> <slot>…`. */
function parseClusterNodes(text: string): ClusterNodeState[] {
  const rows = text.trim().split('\n').map((line) => line.trim().split(' '));
  const portOf = new Map(rows.map((row) => [row[0] ?? '', Number(/:(\d+)@/.exec(row[1] ?? '')?.[1])]));
  return rows.map((row) => {
    const flags = (row[2] ?? '').split(',');
    const port = portOf.get(row[0] ?? '') ?? 0;
    if (flags.includes('master')) return { port, role: 'master' as const, slots: row.slice(8) };
    return { port, role: 'replica' as const, masterPort: portOf.get(row[3] ?? ''), slots: [] };
  });
}
