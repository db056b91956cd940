import { execFileSync } from 'node:child_process';

import { cpuMsOf, rssOf } from '../support/process-memory';
import { Platform } from '../support/platform';
import type { ServiceProcess } from '../support/platform';
import { RawChild } from '../support/raw-child';
import { ceiling, versus } from '../support/results';
import type { Scenario, ScenarioContext } from '../support/results';
import { percentile } from '../support/stats';
import { tcpCounters, tcpCountersSince } from '../support/tcp-counters';
import type { TcpCounters } from '../support/tcp-counters';
import { sleep, waitUntil } from '../support/time';
import { NginxEdge } from './sockets-edge';
import type { SocketsCommand, SocketsReply, SocketsStats, SocketsVerdict } from './sockets-protocol';
import { describeStages, ListenQueueSampler } from './sockets-storm-stages';

/** Issue 18 "Many sockets": targets. */
const ONE_REPLICA_SOCKETS = 10_000;
const ONE_REPLICA_MAX_RSS_MB = 400;
const EDGE_SOCKETS = 20_000;
const STORM_SOCKETS = 10_000;
const STORM_WITHIN_MS = 10_000;
/** Sockets per client process: each holds a descriptor per socket, and `ulimit -n` caps a process. */
const SOCKETS_PER_PROCESS = 5_000;
const AGENTS = 50;
/** Echo runs per second while the replica dies (each is 3 events, each delivered to every socket of its agent). */
const RUNS_PER_SECOND = 10;
/** ip_hash keys on the first three octets of an IPv4 address: clients come from 127.0.<1…N>.1. */
const CLIENT_NETWORKS = 200;
const MB = 1024 * 1024;

type ClientProcess = RawChild<SocketsCommand, SocketsReply>;

async function startClients(count: number): Promise<ClientProcess[]> {
  return Promise.all(Array.from({ length: count }, () => RawChild.start<SocketsCommand, SocketsReply>('sockets-clients', 15_000, 'scenarios')));
}

async function stopClients(clients: readonly ClientProcess[]): Promise<void> {
  await Promise.all(clients.map((client) => client.stop()));
}

/** Connects `total` sockets spread over `clients`, all at once; throws unless every one connected and subscribed. */
async function connectAll(clients: readonly ClientProcess[], total: number, command: Omit<Extract<SocketsCommand, { cmd: 'connect' }>, 'count' | 'cmd'>): Promise<void> {
  const share = Math.ceil(total / clients.length);
  const replies = await Promise.all(
    clients.map((client, i) => client.command({ cmd: 'connect', count: Math.min(share, total - i * share), ...command }, 600_000)),
  );
  const failed = replies.reduce((sum, reply) => sum + (reply.failed ?? 0), 0);
  if (failed > 0) throw new Error(`${failed} of ${total} sockets failed to connect: ${replies.find((reply) => reply.firstError)?.firstError}`);
}

async function statsOf(clients: readonly ClientProcess[]): Promise<SocketsStats[]> {
  return (await Promise.all(clients.map((client) => client.command({ cmd: 'stats' }, 60_000)))).map((reply) => {
    if (!reply.stats) throw new Error(`stats failed: ${reply.firstError}`);
    return reply.stats;
  });
}

const sum = (stats: readonly SocketsStats[], key: 'open' | 'withEvents' | 'down' | 'resumed' | 'retries' | 'busy' | 'connectBusy' | 'events'): number =>
  stats.reduce((total, one) => total + one[key], 0);

/** `websocket_connections_active` of a gateway replica. */
async function activeConnections(gateway: ServiceProcess): Promise<number> {
  const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
  return Number(/^websocket_connections_active (\d+)/m.exec(metrics)?.[1] ?? Number.NaN);
}

/** The hard descriptor limit of this process (and of the processes it starts). */
function hardNofile(): number {
  return Number(execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim());
}

/**
 * `BENCH_SOCKETS_GATEWAY_ENV=NAME=value,…`: extra environment for the replicas behind the edge, to compare a setting
 * with its default in the same minutes (e.g. `WEBSOCKET_LISTEN_BACKLOG=511`).
 */
function gatewayEnvOverrides(): Record<string, string> {
  const pairs = (process.env['BENCH_SOCKETS_GATEWAY_ENV'] ?? '').split(',').filter(Boolean);
  return Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
}

async function createAgents(platform: Platform): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < AGENTS; i += 1) ids.push(await platform.echoAgent());
  return ids;
}

/** One replica, direct: RSS with 10,000 authenticated, subscribed, idle sockets. */
async function oneReplica(context: ScenarioContext, platform: Platform, agentIds: string[]): Promise<void> {
  const total = context.quick ? ONE_REPLICA_SOCKETS / 5 : ONE_REPLICA_SOCKETS;
  const gateway = await platform.spawn('ws-gateway');
  await gateway.waitReady();
  const clients = await startClients(Math.ceil(total / SOCKETS_PER_PROCESS));
  try {
    await sleep(1_000);
    const [rssBefore, cpuBefore] = [rssOf(gateway.pid), cpuMsOf(gateway.pid)];
    const started = performance.now();
    await connectAll(clients, total, { url: gateway.url, token: platform.token, localAddresses: ['127.0.0.1'], agentIds, parallel: 200 });
    const connectMs = performance.now() - started;
    const cpuPerSocket = (cpuMsOf(gateway.pid) - cpuBefore) / total;
    await sleep(5_000);
    const rssAfter = rssOf(gateway.pid);
    context.record(ceiling(`one replica: RSS with ${total.toLocaleString('en-US')} idle sockets (subscribed)`, 'MB', rssAfter / MB, ONE_REPLICA_MAX_RSS_MB));
    context.record(versus('one replica: RSS before the sockets', 'MB', null, rssBefore / MB));
    context.record(versus('one replica: RSS per idle socket', 'KB', null, (rssAfter - rssBefore) / total / 1024));
    context.record(versus('one replica: connect + authenticate + subscribe, sockets/s', 'sockets/s', null, (total * 1000) / connectMs));
    context.record(versus('one replica: gateway CPU per socket (connect, JWT, subscribe)', 'ms', null, cpuPerSocket));
    await Promise.all(clients.map((client) => client.command({ cmd: 'close-all' }, 60_000)));
  } finally {
    await stopClients(clients);
    await gateway.stop();
  }
}

/** Two replicas behind the nginx edge: 20,000 sockets, then a replica killed with 5,000 of them and events flowing. */
async function behindEdge(context: ScenarioContext, platform: Platform, agentIds: string[]): Promise<void> {
  const edgeTotal = context.quick ? EDGE_SOCKETS / 5 : EDGE_SOCKETS;
  const stormTotal = context.quick ? STORM_SOCKETS / 5 : STORM_SOCKETS;
  const env = { WS_TRUST_PROXY_HOPS: '1', ...gatewayEnvOverrides() };
  const [first, second] = [await platform.spawn('ws-gateway', env), await platform.spawn('ws-gateway', env)];
  const gateways = [first, second];
  await Promise.all(gateways.map((gateway) => gateway.waitReady()));
  const nofile = hardNofile();
  // Every proxied socket holds two descriptors in nginx (client and upstream); `worker_connections` counts both.
  const workers = Math.max(2, Math.ceil((2 * EDGE_SOCKETS * 1.2) / (nofile - 100)));
  const edge = await NginxEdge.start({
    apiUrl: platform.service('agent-api').url,
    gatewayUrls: gateways.map((gateway) => gateway.url),
    workers,
    rlimitNofile: nofile,
    workerConnections: nofile - 100,
  });
  context.note(`nginx edge: deploy/nginx ${edge.changes.join('; ')}`);
  if (Object.keys(env).length > 1) context.note(`replicas behind the edge with ${JSON.stringify(env)}`);
  const localAddresses = Array.from({ length: CLIENT_NETWORKS }, (_, i) => `127.0.${i + 1}.1`);
  // The sockets that stay for the storm first, in their own processes, then the rest up to 20,000.
  const stormClients = await startClients(Math.ceil(stormTotal / SOCKETS_PER_PROCESS));
  const extraClients = await startClients(Math.ceil((edgeTotal - stormTotal) / SOCKETS_PER_PROCESS));
  const posted: Array<{ agentId: string; runId: string }> = [];
  // Set back in `finally` too: a failed wait must not leave the loop posting (and the bench process alive).
  let posting = false;
  try {
    const started = performance.now();
    const [cpu1, cpu2] = [cpuMsOf(first.pid), cpuMsOf(second.pid)];
    await connectAll(stormClients, stormTotal, { url: edge.url, token: platform.token, localAddresses, agentIds, parallel: 200 });
    await connectAll(extraClients, edgeTotal - stormTotal, { url: edge.url, token: platform.token, localAddresses, agentIds, parallel: 200 });
    const connectMs = performance.now() - started;
    await sleep(5_000);
    const [on1, on2] = [await activeConnections(first), await activeConnections(second)];
    context.record(versus(`edge: sockets connected through nginx (target ${edgeTotal.toLocaleString('en-US')})`, 'sockets', null, on1 + on2));
    context.record(versus('edge: sockets on replica 1 / replica 2 (ip_hash)', 'sockets', on1, on2));
    context.record(versus('edge: replica RSS, 1 / 2', 'MB', rssOf(first.pid) / MB, rssOf(second.pid) / MB));
    context.record(versus('edge: nginx RSS (master + workers)', 'MB', null, edge.rss() / MB));
    context.record(versus('edge: connect + authenticate + subscribe through nginx, sockets/s', 'sockets/s', null, (edgeTotal * 1000) / connectMs));
    context.record(
      versus('edge: gateway CPU per socket, replica 1 / 2', 'ms', (cpuMsOf(first.pid) - cpu1) / on1, (cpuMsOf(second.pid) - cpu2) / on2),
    );

    // The storm: back to `stormTotal` sockets, events flowing to all of them, then the busier replica dies.
    await Promise.all(extraClients.map((client) => client.command({ cmd: 'close-all' }, 60_000)));
    await stopClients(extraClients);
    await Promise.all(stormClients.map((client) => client.command({ cmd: 'arm', url: edge.url }, 30_000)));
    posting = true;
    let postErrors = 0;
    const poster = (async () => {
      const begun = performance.now();
      for (let i = 0; posting; i += 1) {
        const agentId = agentIds[i % agentIds.length] ?? '';
        platform.api<{ id: string }>('POST', `/agents/${agentId}/runs`, { input: { i } }).then(
          (accepted) => (accepted.status === 202 ? posted.push({ agentId, runId: accepted.body.id }) : (postErrors += 1)),
          () => (postErrors += 1),
        );
        await sleep(Math.max(0, begun + ((i + 1) * 1000) / RUNS_PER_SECOND - performance.now()));
      }
    })();
    await waitUntil(async () => sum(await statsOf(stormClients), 'withEvents') >= stormTotal, 120_000, 'every storm socket has an event', 500);
    const [before1, before2] = [await activeConnections(first), await activeConnections(second)];
    const [doomed, survivor, dropped] = before1 >= before2 ? [first, second, before1] : [second, first, before2];
    const survivorCpu = cpuMsOf(survivor.pid);
    const queues = new ListenQueueSampler([edge.port, survivor.port]);
    queues.start();
    const tcpBefore = tcpCounters();
    const killedAt = Date.now();
    // Where the storm's time went, also when it failed (printed and noted; numbers of a failed storm are partial).
    let tcp: TcpCounters | undefined;
    const describeStorm = (stats: readonly SocketsStats[]) => {
      queues.stop();
      tcp ??= tcpCountersSince(tcpBefore);
      for (const line of describeStages(stats.flatMap((one) => one.resumeStages), killedAt)) {
        context.note(line);
        process.stdout.write(`    ${line}\n`);
      }
      const failed: Record<string, number> = {};
      for (const one of stats) for (const [key, count] of Object.entries(one.failedAttempts)) failed[key] = (failed[key] ?? 0) + count;
      const failedLine = `storm failed attempts by reason and last stage reached: ${Object.entries(failed).map(([key, count]) => `${key}: ${count}`).join('; ') || 'none'}`;
      context.note(failedLine);
      process.stdout.write(`    ${failedLine}\n`);
      const loops = stats.map((one) => `p99 ${Math.round(one.loopDelayP99Ms ?? Number.NaN)} / max ${Math.round(one.loopDelayMaxMs ?? Number.NaN)}`);
      context.note(`storm client processes' event-loop delay since armed, ms: ${loops.join('; ')}`);
      process.stdout.write(`    client loop delay: ${loops.join('; ')}\n`);
      const tcpLine = `storm TCP (whole host, kill → all resumed): ${tcp?.listenOverflows} accept-queue overflows, ${tcp?.listenDrops} listen drops, ${tcp?.synRetransmits} SYN retransmits; ${queues.describe({ [edge.port]: 'nginx', [survivor.port]: 'survivor' })}`;
      context.note(tcpLine);
      process.stdout.write(`    ${tcpLine}\n`);
    };
    doomed.child.kill('SIGKILL');
    try {
      await waitUntil(
        async () => {
          const stats = await statsOf(stormClients);
          process.stdout.write(`    +${Date.now() - killedAt} ms: ${sum(stats, 'resumed')} of ${dropped} resumed, ${sum(stats, 'down')} down, ${sum(stats, 'retries')} failed attempts\n`);
          return sum(stats, 'resumed') >= dropped && sum(stats, 'down') === 0;
        },
        60_000,
        'every dropped socket resumed',
        1_000,
      );
    } catch (error) {
      const stats = await statsOf(stormClients);
      describeStorm(stats);
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}: ${dropped} dropped, ${sum(stats, 'resumed')} resumed, ${sum(stats, 'down')} down, ${sum(stats, 'retries')} failed attempts (first: ${stats.find((one) => one.firstRetryReason)?.firstRetryReason}); survivor: ${survivor.output.slice(-5).join(' | ')}`,
      );
    }
    const stormCpu = cpuMsOf(survivor.pid) - survivorCpu;
    tcp = tcpCountersSince(tcpBefore);
    await sleep(3_000);
    posting = false;
    await poster;
    const stats = await statsOf(stormClients);
    const delays = stats.flatMap((one) => one.resumeDelaysMs);
    const lastResume = Math.max(...stats.map((one) => one.lastResumeAt ?? 0));
    const firstDrop = Math.min(...stats.map((one) => one.firstDropAt ?? Number.POSITIVE_INFINITY));
    context.record(versus('storm: sockets on the killed replica / resumed on the survivor', 'sockets', dropped, sum(stats, 'resumed')));
    context.record(ceiling('storm: SIGKILL → last socket resumed (reconnected, resubscribed with after)', 'ms', lastResume - killedAt, STORM_WITHIN_MS));
    context.record(versus('storm: SIGKILL → first drop seen by a client', 'ms', null, firstDrop - killedAt));
    context.record(versus('storm: drop → resumed per socket, p50 / p99', 'ms', percentile(delays, 50), percentile(delays, 99)));
    context.record(versus('storm: reconnect attempts refused or failed (retried)', 'attempts', null, sum(stats, 'retries')));
    context.record(versus('storm: of which refused as busy at once (overloaded, max_connections)', 'attempts', null, sum(stats, 'busy')));
    context.note(`initial connects of the storm clients refused as busy and retried: ${sum(stats, 'connectBusy')}`);
    if (stats.some((one) => one.firstRetryReason)) context.note(`storm: first failed attempt: ${stats.find((one) => one.firstRetryReason)?.firstRetryReason}`);
    describeStorm(stats);
    context.record(versus('storm: survivor CPU per resumed socket', 'ms', null, stormCpu / Math.max(1, sum(stats, 'resumed'))));
    context.record(versus('storm: survivor sockets after / RSS', 'MB', await activeConnections(survivor), rssOf(survivor.pid) / MB));

    // Every event of every run, from the REST log, against what each socket received over its connections.
    await waitUntil(
      async () => {
        for (const { runId } of posted) if ((await platform.api<{ status: string }>('GET', `/runs/${runId}`)).body.status !== 'completed') return false;
        return true;
      },
      120_000,
      'every run completed',
      500,
    );
    await sleep(2_000);
    const expected: Record<string, string[]> = {};
    for (const { agentId, runId } of posted) {
      const events = await platform.api<{ items: Array<{ id: string }> }>('GET', `/runs/${runId}/events`);
      (expected[agentId] ??= []).push(...events.body.items.map((event) => event.id));
    }
    const verdicts = await Promise.all(stormClients.map((client) => client.command({ cmd: 'verify', expected }, 120_000)));
    const verdict = verdicts.reduce<SocketsVerdict>(
      (total, reply) => {
        const one = reply.verdict;
        if (!one) throw new Error(`verify failed: ${reply.firstError}`);
        return {
          sockets: total.sockets + one.sockets,
          expected: total.expected + one.expected,
          missing: total.missing + one.missing,
          duplicates: total.duplicates + one.duplicates,
          unexpected: total.unexpected + one.unexpected,
          socketsWithLoss: total.socketsWithLoss + one.socketsWithLoss,
          socketsOutOfOrder: total.socketsOutOfOrder + one.socketsOutOfOrder,
        };
      },
      { sockets: 0, expected: 0, missing: 0, duplicates: 0, unexpected: 0, socketsWithLoss: 0, socketsOutOfOrder: 0 },
    );
    context.record(versus(`storm: runs posted at ${RUNS_PER_SECOND}/s (refused)`, 'runs', postErrors, posted.length));
    context.record(versus('storm: event deliveries expected (sockets × their agent’s events)', 'deliveries', null, verdict.expected));
    context.record(ceiling('storm: events lost', 'events', verdict.missing, 0));
    context.record(ceiling('storm: events delivered twice', 'events', verdict.duplicates, 0));
    context.record(ceiling('storm: sockets with a run’s events out of order', 'sockets', verdict.socketsOutOfOrder, 0));
    context.record(ceiling('storm: events not of the socket’s agent', 'events', verdict.unexpected, 0));
    const edgeLog = edge.log().split('\n');
    // How nginx met the dead replica: each refused connect is retried on the survivor (proxy_next_upstream).
    const refusedUpstream = edgeLog.filter((line) => line.includes('while connecting to upstream')).length;
    const noLive = edgeLog.filter((line) => line.includes('no live upstreams')).length;
    context.note(`storm: nginx logged ${refusedUpstream} failed connects to an upstream and ${noLive} "no live upstreams"`);
    const alerts = edgeLog.filter((line) => /\[(alert|crit|emerg)\]/.test(line));
    if (alerts.length) context.note(`nginx: ${alerts.length} alerts, first: ${alerts[0]}`);
  } finally {
    posting = false;
    await stopClients([...stormClients, ...extraClients]);
    await edge.stop();
  }
}

/** Issue 18 "Many sockets": idle sockets on one replica, 20,000 behind nginx, a replica killed under a reconnect storm. */
export const socketsScenario: Scenario = {
  id: 'sockets',
  title: 'Sockets: 10,000 idle on one ws-gateway; 20,000 on two behind nginx; SIGKILL of one with events flowing',
  optIn: true,
  timeoutMs: (quick) => (quick ? 600_000 : 1_200_000),
  async run(context) {
    const platform = new Platform(context.profileDir ? { profileDir: `${context.profileDir}/sockets` } : {});
    try {
      await platform.start(['agent-api', 'mesh-coordinator']);
      const agentIds = await createAgents(platform);
      await oneReplica(context, platform, agentIds);
      await behindEdge(context, platform, agentIds);
      context.note(
        `clients: socket.io-client (websocket transport) in ${SOCKETS_PER_PROCESS.toLocaleString('en-US')}-socket child processes (ulimit -n ${hardNofile()}), each authenticated with a JWT and subscribed to one of ${AGENTS} echo agents; behind nginx they bind 127.0.<1…${CLIENT_NETWORKS}>.1 (ip_hash keys on three octets) and the replicas run with WS_TRUST_PROXY_HOPS=1; after the kill a client reconnects like the SDK (backoff with full jitter, 100 ms doubling to 2 s) and subscribes with after=<its last event id>; loss/duplicates compare each socket's event ids with GET /runs/{id}/events of every run`,
      );
    } finally {
      await platform.stop();
    }
  },
};
