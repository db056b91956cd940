// The nginx edge of deploy/nginx in front of bench services: the shipped config, with only what a host without
// Docker needs changed (upstream addresses, port, file paths) plus the descriptor settings this machine's limit needs.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { onOutputLines } from '@skreaver/testing';

import { freePort } from '../support/free-port';
import { ROOT } from '../support/platform';
import { rssOf } from '../support/process-memory';
import { sleep, waitUntil } from '../support/time';

/** nginx's version as [major, minor, patch], or undefined when nginx is not installed. */
function nginxVersion(): [number, number, number] | undefined {
  // `nginx -v` prints its banner to stderr.
  const result = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  return result.error ? undefined : parseVersion(`${result.stdout}${result.stderr}`);
}

function parseVersion(banner: string): [number, number, number] | undefined {
  const match = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(banner);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/** Replaces `from` in `text`, failing loudly when the shipped config no longer has it (the bench would test something else). */
function replaceOnce(text: string, from: string | RegExp, to: string): string {
  const found = typeof from === 'string' ? text.includes(from) : from.test(text);
  if (!found) throw new Error(`deploy/nginx config: ${String(from)} not found; update bench/src/scenarios/sockets-edge.ts`);
  return text.replace(from, to);
}

export interface EdgeOptions {
  apiUrl: string;
  gatewayUrls: string[];
  workers: number;
  /** Descriptors per worker (at most the hard limit of this process). */
  rlimitNofile: number;
  workerConnections: number;
}

/** nginx started with deploy/nginx's config for this host; `stop()` ends it and deletes its files. */
export class NginxEdge {
  private constructor(
    readonly port: number,
    readonly child: ChildProcess,
    private readonly dir: string,
    /** What the config changes from the shipped one (for the scenario's notes). */
    readonly changes: string[],
    private readonly output: string[],
  ) {}

  static async start(options: EdgeOptions): Promise<NginxEdge> {
    const version = nginxVersion();
    if (!version) throw new Error('nginx is not installed (apt-get install nginx)');
    // nginx.conf re-resolves its upstreams with `resolve`, which needs nginx ≥ 1.27.3; older ones use the 1.22 variant.
    const modern = version[0] > 1 || (version[0] === 1 && (version[1] > 27 || (version[1] === 27 && version[2] >= 3)));
    const source = join(ROOT, 'deploy', 'nginx', modern ? 'nginx.conf' : 'nginx-1.22.conf');
    const dir = mkdtempSync(join(tmpdir(), 'skreaver-edge-'));
    const port = await freePort();
    const api = new URL(options.apiUrl).host;
    const gateways = options.gatewayUrls.map((url) => `server ${new URL(url).host} max_fails=3 fail_timeout=30s;`).join('\n        ');
    let config = readFileSync(source, 'utf8');
    config = replaceOnce(config, /worker_processes [^;]+;/, `worker_processes ${options.workers};`);
    config = replaceOnce(config, /worker_rlimit_nofile \d+;/, `worker_rlimit_nofile ${options.rlimitNofile};`);
    config = replaceOnce(config, /worker_connections \d+;/, `worker_connections ${options.workerConnections};`);
    config = replaceOnce(config, 'pid /tmp/nginx.pid;', `pid ${dir}/nginx.pid;`);
    config = config.replace(/_temp_path \/tmp\//g, `_temp_path ${dir}/`);
    config = replaceOnce(config, 'access_log /dev/stdout json;', 'access_log off;');
    // Node's stdio pipes are socket pairs, which nginx cannot open as /dev/stderr.
    config = replaceOnce(config, 'error_log /dev/stderr warn;', `error_log ${dir}/logs/error.log warn;`);
    config = replaceOnce(config, /server ws-gateway:8081 [^;]+;/, gateways);
    config = modern
      ? replaceOnce(config, /server agent-api:8080 [^;]+;/, `server ${api};`)
      : replaceOnce(config, 'default agent-api:8080;', `default ${api};`);
    config = replaceOnce(config, 'listen 8080;', `listen 127.0.0.1:${port} reuseport;`);
    config = config.replace(/include \/etc\/nginx\/skreaver-websocket\.conf;/g, `include ${join(ROOT, 'deploy', 'nginx', 'skreaver-websocket.conf')};`);
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'nginx.conf'), config);
    const child = spawn('nginx', ['-p', dir, '-e', join(dir, 'logs', 'error.log'), '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    onOutputLines(child, (line) => output.push(line));
    const edge = new NginxEdge(port, child, dir, [
      `${modern ? 'nginx.conf' : 'nginx-1.22.conf'} (nginx ${version.join('.')})`,
      `worker_processes ${options.workers}, worker_rlimit_nofile ${options.rlimitNofile}, worker_connections ${options.workerConnections}`,
      'listen … reuseport (the kernel spreads connections evenly over the workers)',
      'upstreams on 127.0.0.1, access_log off, error log, pid and temp files in a temporary directory',
    ], output);
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited: ${edge.log()}`);
        try {
          return (await fetch(`${edge.url}/nginx-health`)).ok;
        } catch {
          return false;
        }
      },
      15_000,
      'nginx /nginx-health',
      50,
    );
    return edge;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The master and its workers. */
  pids(): number[] {
    const master = this.child.pid;
    if (master === undefined) return [];
    const children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [master, ...children];
  }

  rss(): number {
    return this.pids().reduce((sum, pid) => sum + rssOf(pid), 0);
  }

  /** What nginx printed, and its error log (alerts such as "worker_connections are not enough"). */
  log(): string {
    let errors = '';
    try {
      errors = readFileSync(join(this.dir, 'logs', 'error.log'), 'utf8');
    } catch {
      // Not written yet.
    }
    return [...this.output, errors].join('\n').trim();
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      // QUIT: graceful (workers wait for their connections); TERM: fast shutdown, which is what a bench wants.
      this.child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
