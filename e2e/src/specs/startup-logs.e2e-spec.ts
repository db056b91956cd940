import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { isolatedDatabase, isolatedRedis, onOutputLines, waitFor } from '@skreaver/testing';
import type { IsolatedDatabase, IsolatedRedis } from '@skreaver/testing';

import { freePort } from '../support/free-port';

const AGENT_API = join(__dirname, '..', '..', '..', 'services', 'agent-api', 'dist', 'main.js');
const FRAMEWORK_CHATTER = /::(InstanceLoader|RoutesResolver|RouterExplorer|NestFactory|NestApplication)"/;
const API_KEY = /sk_[a-z0-9]{10}_[A-Za-z0-9_-]{32,}/;

interface Started {
  port: number;
  /** Lines on stdout and stderr up to the moment /ready answered. */
  lines: string[];
  /** What agent-api wrote on descriptor 3 (SKREAVER_ADMIN_KEY_FD), read to the end. */
  handedOver: Promise<string>;
  stop: () => Promise<void>;
}

// What `npm start` does with agent-api, minus the terminal: the services' start-up at the default level, and the
// generated admin key handed over on a pipe (descriptor 3) for the launcher's banner instead of a banner of its own.
describe('agent-api start-up output', () => {
  let redis: IsolatedRedis;
  let database: IsolatedDatabase;
  const jwtSecret = randomBytes(32).toString('base64url');

  beforeAll(async () => {
    redis = isolatedRedis('e2e');
    database = await isolatedDatabase('sqlite', 'e2e');
  });

  afterAll(async () => {
    await redis?.cleanup();
    await database?.cleanup();
  });

  async function start(env: Record<string, string>): Promise<Started> {
    const port = await freePort();
    const child = spawn(process.execPath, [AGENT_API], {
      env: {
        PATH: process.env['PATH'] ?? '',
        HOST: '127.0.0.1',
        PORT: String(port),
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: redis.prefix,
        SKREAVER_DATA_DIR: database.dataDir,
        JWT_SECRET_KEY: jwtSecret,
        SKREAVER_GENERATE_ADMIN_KEY: 'true',
        SKREAVER_ADMIN_KEY_FD: '3',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    onOutputLines(child, (line) => output.push(line));
    const fd3 = child.stdio[3] as NodeJS.ReadableStream;
    const handedOver = new Promise<string>((resolve) => {
      let text = '';
      fd3.on('data', (chunk: Buffer) => (text += chunk.toString()));
      fd3.on('end', () => resolve(text));
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`agent-api exited:\n${output.join('\n')}`);
          return (await fetch(`http://127.0.0.1:${port}/ready`)).ok;
        },
        { timeoutMs: 30_000, intervalMs: 50, what: 'agent-api /ready' },
      );
    } catch (error) {
      child.kill('SIGKILL');
      await exited;
      throw error;
    }
    return {
      port,
      lines: [...output],
      handedOver,
      stop: async () => {
        child.kill('SIGTERM');
        await exited;
      },
    };
  }

  it('should log a few lines at the default level, none of them framework chatter, and hand the key over on fd 3', async () => {
    const first = await start({ LOG_FORMAT: 'json' });
    try {
      const key = (await first.handedOver).trim();
      expect(key).toMatch(new RegExp(`^${API_KEY.source}$`));
      // The key went to the launcher only: no banner, and nothing of it in the logs.
      expect(first.lines.join('\n')).not.toContain(key.slice(14));
      expect(first.lines.join('\n')).not.toContain('shown ONLY THIS ONCE');

      const entries = first.lines.map((line) => JSON.parse(line) as { level: string; target: string; fields: Record<string, unknown> });
      expect(first.lines.filter((line) => FRAMEWORK_CHATTER.test(line))).toEqual([]);
      expect(entries).toContainEqual(
        expect.objectContaining({ level: 'INFO', target: 'skreaver_agent_api::bootstrap', fields: expect.objectContaining({ message: 'Listening', port: first.port }) }),
      );
      // Before: ~75 lines (every module initialised, every route mapped). Now: migrations, the admin key, listening.
      expect(entries.length).toBeLessThanOrEqual(5);

      const agents = await fetch(`http://127.0.0.1:${first.port}/agents`, { headers: { authorization: `Bearer ${key}` } });
      expect(agents.status).toBe(200);
    } finally {
      await first.stop();
    }

    // Restarted: an admin key exists, nothing is handed over, and the descriptor is closed (the launcher does not wait).
    const second = await start({ LOG_FORMAT: 'pretty', LOG_LEVEL: 'debug' });
    try {
      await expect(second.handedOver).resolves.toBe('');
      // pretty on a pipe: human lines without colour codes; debug brings the framework's start-up back.
      expect(second.lines.some((line) => line.startsWith('{'))).toBe(false);
      expect(second.lines.join('\n')).not.toContain('\u001b[');
      expect(second.lines).toContainEqual(expect.stringMatching(/ INFO {2}agent-api bootstrap: Listening port=\d+ host=127\.0\.0\.1$/));
      expect(second.lines).toContainEqual(expect.stringMatching(/ DEBUG agent-api RouterExplorer: Mapped \{\/agents, GET\} route/));
    } finally {
      await second.stop();
    }
  }, 90_000);
});
