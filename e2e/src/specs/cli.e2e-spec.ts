import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Agent, Run, RunEventV1 } from '@skreaver/contracts';
import { SkreaverClient } from '@skreaver/sdk';
import { lastUserMessage, startModelStandIn, waitFor } from '@skreaver/testing';
import type { ModelStandIn } from '@skreaver/testing';
import { parse as parseYaml } from 'yaml';

import { freePort } from '../support/free-port';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';

/** The built bin, as `npx skreaver` runs it (node_modules/.bin/skreaver links to it). */
const BIN = join(__dirname, '..', '..', '..', 'services', 'cli', 'bin', 'skreaver.js');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running `skreaver` process: its output so far, and how it ended. */
interface Running {
  stdout(): string;
  stderr(): string;
  signal(name: NodeJS.Signals): void;
  done: Promise<Result>;
}

/** A gate the scripted model waits at: runs stay running until the test opens it. */
function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

// The `skreaver` command line as a user runs it: the built bin as its own process (stdout not a TTY: plain lines),
// against the built services on free ports, with its profile in a temporary $SKREAVER_CONFIG.
describe('skreaver (the CLI) against a live stack', () => {
  let stack: Stack;
  let model: ModelStandIn;
  let sdk: SkreaverClient;
  let home: string;
  let configFile: string;
  const gates = new Map<string, ReturnType<typeof gate>>();

  /** Starts `skreaver args…` with the test's config file and no SKREAVER_* variables but `env`. */
  const start = (args: string[], env: Record<string, string> = {}): Running => {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SKREAVER_')));
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...inherited, HOME: home, SKREAVER_CONFIG: configFile, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<Result>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
    return { stdout: () => stdout, stderr: () => stderr, signal: (name) => child.kill(name), done };
  };
  const skreaver = (args: string[], env: Record<string, string> = {}) => start(args, env).done;
  /**
   * Starts `skreaver args…` on a real pseudo-terminal: util-linux `script` runs it with a pty as its stdin, stdout and
   * stderr (-q quiet, -f flush as it goes, -e its exit code, -c the command; the typescript file is /dev/null), and
   * relays what the terminal shows. The pty turns each `\n` into `\r\n`.
   */
  const startInTty = (args: string[]): Running => {
    const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SKREAVER_')));
    const command = [process.execPath, BIN, ...args].map(quote).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { ...inherited, HOME: home, SKREAVER_CONFIG: configFile, TERM: 'xterm-256color' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<Result>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
    return { stdout: () => stdout, stderr: () => stderr, signal: (name) => child.kill(name), done };
  };
  /** Runs a command that must succeed, and parses its JSON output. */
  const json = async <T>(args: string[]): Promise<T> => {
    const result = await skreaver([...args, '-o', 'json']);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    return JSON.parse(result.stdout) as T;
  };

  beforeAll(async () => {
    model = await startModelStandIn({
      script: async (request) => {
        const text = lastUserMessage(request) ?? '';
        if (text === 'fail') return { status: 400, body: { error: { message: 'the model refuses' } } };
        const held = gates.get(text);
        if (held) await held.opened;
        return { content: `answer to ${text}` };
      },
    });
    stack = await startStack({ env: { SKREAVER_LLM_BASE_URL: model.baseUrl, SKREAVER_LLM_MODEL: 'tiny' } });
    sdk = new SkreaverClient({ baseUrl: stack.api.url, apiKey: stack.adminKey });
    home = await mkdtemp(join(tmpdir(), 'skreaver-cli-'));
    configFile = join(home, 'nested', 'config.json');
  }, 60_000);

  afterAll(async () => {
    for (const held of gates.values()) held.open();
    await stack?.stop();
    await model?.close();
    if (home) await rm(home, { recursive: true, force: true });
  }, 30_000);

  it('should log in, storing the profile with file mode 0600, and use it afterwards', async () => {
    const login = await skreaver(['login', '--url', stack.api.url, '--key', stack.adminKey]);
    expect(login).toMatchObject({ code: 0, stderr: expect.stringContaining('logged in') });
    expect((await stat(configFile)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(configFile, 'utf8'))).toEqual({ current: 'default', profiles: { default: { url: stack.api.url, key: stack.adminKey } } });

    // The profile is used when nothing else is given; SKREAVER_API_KEY wins over it (a wrong one: exit 3).
    expect(await skreaver(['agents', 'ls'])).toMatchObject({ code: 0 });
    expect(await skreaver(['agents', 'ls'], { SKREAVER_API_KEY: 'sk_aaaaaaaaaa_wrong' })).toMatchObject({ code: 3, stderr: expect.stringContaining('error: ') });
    // A wrong key at login is refused and stores nothing new.
    expect(await skreaver(['login', '--url', stack.api.url, '--key', 'sk_aaaaaaaaaa_wrong', '--profile', 'bad'])).toMatchObject({ code: 3 });
    expect(Object.keys(JSON.parse(await readFile(configFile, 'utf8')).profiles)).toEqual(['default']);
  }, 60_000);

  it('should create, list, get and remove agents in table, json and yaml', async () => {
    const file = join(home, 'agent.json');
    await writeFile(file, JSON.stringify({ name: 'cli-agent-with-a-rather-long-name-that-a-narrow-table-cuts', kind: 'llm', config: {} }));
    const created = await json<Agent>(['agents', 'create', '-f', file]);
    expect(created).toMatchObject({ name: 'cli-agent-with-a-rather-long-name-that-a-narrow-table-cuts', kind: 'llm' });

    const table = await skreaver(['agents', 'ls']);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+NAME\s+KIND\s+STATUS\s+CREATED$/);
    expect(rows.find((row) => row.startsWith(created.id))).toMatch(/cli-agent-with.*\s+llm\s+idle\s+/);

    const listed = await json<{ items: Agent[] }>(['agents', 'ls']);
    expect(listed.items.map((agent) => agent.id)).toContain(created.id);
    const yaml = await skreaver(['agents', 'get', created.id, '-o', 'yaml']);
    expect({ code: yaml.code, agent: parseYaml(yaml.stdout) }).toEqual({ code: 0, agent: created });
    const record = await skreaver(['agents', 'get', created.id]);
    expect(record.stdout).toMatch(new RegExp(`^id\\s+${created.id}$`, 'm'));

    expect(await skreaver(['agents', 'rm', created.id])).toMatchObject({ code: 0 });
    expect(await skreaver(['agents', 'get', created.id])).toMatchObject({ code: 4, stderr: expect.stringContaining('not_found') });
  }, 60_000);

  describe('runs', () => {
    let agent: Agent;

    beforeAll(async () => {
      agent = await sdk.agents.create({ name: 'cli-runs', kind: 'llm', config: {} });
    });

    it('should wait for a run (exit 0) and a failing one (exit 1)', async () => {
      const done = await skreaver(['runs', 'create', agent.id, '--input', '"hello"', '--wait', '-o', 'json']);
      expect(done.code).toBe(0);
      expect(JSON.parse(done.stdout)).toMatchObject({ agent_id: agent.id, status: 'completed', output: 'answer to hello' });
      // Not a TTY: no spinner, nothing but the run on stdout.
      expect(done.stdout).not.toContain('\r');

      const failed = await skreaver(['runs', 'create', agent.id, '--input', 'fail', '--wait', '-o', 'json']);
      expect(failed.code).toBe(1);
      expect(JSON.parse(failed.stdout)).toMatchObject({ status: 'failed', error: expect.objectContaining({ code: expect.any(String) }) });

      const runs = await json<{ items: Run[] }>(['runs', 'ls', '--agent', agent.id]);
      expect(runs.items.map((run) => run.status).sort()).toEqual(['completed', 'failed']);
    }, 60_000);

    it('should follow a run, printing its events until the end, and page events after an id', async () => {
      const input = join(home, 'input.json');
      await writeFile(input, JSON.stringify('follow me'));
      const followed = await skreaver(['runs', 'create', agent.id, '--input', `@${input}`, '--follow', '-o', 'json']);
      expect(followed.code).toBe(0);
      const events = followed.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as RunEventV1);
      expect(events.map((event) => event.seq)).toEqual(events.map((_event, index) => index + 1));
      expect(events[0]?.type).toBe('run.queued');
      expect(events.at(-1)).toMatchObject({ type: 'run.completed', data: { output: 'answer to follow me' } });
      const runId = events[0]?.run_id ?? '';

      // The same events as the API's log; `--after` starts right after the given id.
      expect((await sdk.events.list(runId, { limit: 1000 })).items).toEqual(events);
      const after = await json<{ items: RunEventV1[] }>(['events', runId, '--after', events[0]?.id ?? '']);
      expect(after.items).toEqual(events.slice(1));
      const table = await skreaver(['events', runId, '--follow', '--after', events[1]?.id ?? '']);
      expect(table.code).toBe(0);
      expect(table.stdout.trimEnd().split('\n').map((line) => line.split(/\s+/)[1])).toEqual(events.slice(2).map((event) => event.type));
    }, 60_000);

    /** Spinner frames (braille dots) drawn on the terminal, in order of appearance. */
    // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what the test reads
    const framesIn = (screen: string) => [...screen.matchAll(/\r\x1b\[2K([⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]) /g)].map((match) => match[1]);

    it('should show a spinner with the progress on a terminal during --wait and --follow, redrawn in place', async () => {
      for (const mode of ['--wait', '--follow'] as const) {
        const text = `held-tty${mode}`;
        const held = gate();
        gates.set(text, held);
        const tty = startInTty(['runs', 'create', agent.id, '--input', JSON.stringify(text), mode]);
        // Held by the model: the run is running, the spinner turns (a frame every 100 ms) and says so.
        await waitFor(() => /run\.started \(\d+\.\ds\)/.test(tty.stdout()) && new Set(framesIn(tty.stdout())).size >= 4, { what: `the spinner of ${mode}`, timeoutMs: 20_000 });
        held.open();
        const result = await tty.done;
        expect({ mode, code: result.code }).toEqual({ mode, code: 0 });
        const screen = result.stdout;
        // Drawn in place: carriage return and erase-line before each frame, the cursor hidden meanwhile and shown again.
        expect(screen.startsWith('\x1b[?25l') || screen.indexOf('\x1b[?25l') < screen.indexOf('\r\x1b[2K')).toBe(true);
        expect(screen).toContain('\x1b[?25h');
        expect(screen.lastIndexOf('\x1b[?25h')).toBeGreaterThan(screen.lastIndexOf('\x1b[?25l'));
        expect(framesIn(screen).length).toBeGreaterThanOrEqual(4);
        // What stays once the spinner is gone: the run (--wait) or its events, one per line (--follow).
        // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what the test reads
        const lines = screen.replace(/\x1b\[\?25[lh]/g, '').split('\r\n').map((line) => line.slice(line.lastIndexOf('\r\x1b[2K') + 1).replace(/^\x1b\[2K/, ''));
        if (mode === '--wait') {
          expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^status\s+completed$/), expect.stringMatching(new RegExp(`^output\\s+answer to ${text}$`))]));
        } else {
          const types = lines.map((line) => /^\S+:\d+ {2}(\S+)/.exec(line)?.[1]).filter(Boolean);
          expect(types[0]).toBe('run.queued');
          expect(types.at(-1)).toBe('run.completed');
          expect(lines.join('\n')).toMatch(/run \S+ completed/);
        }
      }
    }, 90_000);

    it('should print plain lines, no control sequences, when stdout is a pipe', async () => {
      const text = 'held-pipe';
      const held = gate();
      gates.set(text, held);
      const piped = start(['runs', 'create', agent.id, '--input', JSON.stringify(text), '--follow']);
      await waitFor(() => /run\.started/.test(piped.stdout()), { what: 'run.started on the pipe', timeoutMs: 20_000 });
      // Long enough for a spinner to have turned, were there one.
      await new Promise((resolve) => setTimeout(resolve, 500));
      held.open();
      const result = await piped.done;
      expect(result.code).toBe(0);
      // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what the test reads
      expect(result.stdout + result.stderr).not.toMatch(/[\r\x1b]/);
      const types = result.stdout.trimEnd().split('\n').map((line) => line.split(/\s+/)[1]);
      expect(types[0]).toBe('run.queued');
      expect(types.at(-1)).toBe('run.completed');
    }, 60_000);

    it('should detach on Ctrl-C during --follow (the run goes on), and cancel with --cancel-on-exit', async () => {
      for (const [text, cancel] of [
        ['held-detach', false],
        ['held-cancel', true],
      ] as const) {
        const held = gate();
        gates.set(text, held);
        const follow = start(['runs', 'create', agent.id, '--input', JSON.stringify(text), '--follow', ...(cancel ? ['--cancel-on-exit'] : [])]);
        // The run is running (the model holds its answer) once its run.started line is printed.
        await waitFor(() => /run\.started/.test(follow.stdout()), { what: `run.started of ${text}`, timeoutMs: 20_000 });
        const runId = /run (\S+) started/.exec(follow.stderr())?.[1] ?? '';
        follow.signal('SIGINT');
        const result = await follow.done;
        expect(result.code).toBe(130);
        if (cancel) {
          expect(result.stderr).toContain(`run ${runId} cancelled`);
          await waitFor(async () => ((await sdk.runs.get(runId)).status === 'cancelled' ? true : undefined), { what: 'the run cancelled' });
          held.open();
        } else {
          expect(result.stderr).toContain(`detached: run ${runId} goes on`);
          expect((await sdk.runs.get(runId)).status).toBe('running');
          held.open();
          await waitFor(async () => ((await sdk.runs.get(runId)).status === 'completed' ? true : undefined), { what: 'the detached run completed' });
        }
      }
    }, 90_000);
  });

  it('should exit 4 for an unknown agent, 3 for a bad key, 2 for a usage error and 5 when the service is down', async () => {
    expect(await skreaver(['runs', 'create', '00000000-0000-4000-8000-000000000000', '--input', '"x"'])).toMatchObject({ code: 4, stderr: expect.stringContaining('not_found') });
    expect(await skreaver(['agents', 'ls', '--key', 'sk_aaaaaaaaaa_wrong'])).toMatchObject({ code: 3 });
    expect(await skreaver(['agents', 'frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringContaining('agents needs one of') });
    expect(await skreaver(['runs', 'create', 'x', '--no-such-flag'])).toMatchObject({ code: 2 });
    expect(await skreaver(['agents', 'ls', '-o', 'xml'])).toMatchObject({ code: 2 });
    const down = `http://127.0.0.1:${await freePort()}`;
    expect(await skreaver(['agents', 'ls', '--url', down])).toMatchObject({ code: 5, stderr: expect.stringContaining('network_error') });
  }, 60_000);

  it('should report the three services in status, and exit 5 when one is down', async () => {
    const urls = ['--api-url', stack.api.url, '--gateway-url', stack.gateways[0]?.url ?? '', '--mesh-url', stack.coordinator.url];
    const up = await skreaver(['status', ...urls, '-o', 'json']);
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout)).toEqual([
      { service: 'agent-api', url: stack.api.url, health: 'ok', ready: 'ready' },
      { service: 'ws-gateway', url: stack.gateways[0]?.url, health: 'ok', ready: 'ready' },
      { service: 'mesh-coordinator', url: stack.coordinator.url, health: 'ok', ready: 'ready' },
    ]);
    const down = `http://127.0.0.1:${await freePort()}`;
    const partly = await skreaver(['status', ...urls.slice(0, 4), '--mesh-url', down]);
    expect(partly.code).toBe(5);
    expect(partly.stdout).toMatch(/mesh-coordinator\s+\S+\s+unreachable\s+unreachable/);
  }, 60_000);

  it('should drive memory, threads, keys and mesh dead letters', async () => {
    const agent = await sdk.agents.create({ name: 'cli-more', kind: 'llm', config: {} });
    expect(await json(['memory', 'put', agent.id, 'city', '--input', '"Paris"'])).toMatchObject({ key: 'city', value: 'Paris' });
    expect(await json(['memory', 'get', agent.id, 'city'])).toMatchObject({ key: 'city', value: 'Paris' });
    expect((await json<{ items: unknown[] }>(['memory', 'ls', agent.id])).items).toEqual([expect.objectContaining({ key: 'city' })]);

    const thread = await json<{ id: string }>(['threads', 'create', '--agent', agent.id]);
    const turn = await skreaver(['threads', 'run', thread.id, '--input', '"hi"', '--wait', '-o', 'json']);
    expect({ code: turn.code, run: JSON.parse(turn.stdout) }).toMatchObject({ code: 0, run: { thread_id: thread.id, status: 'completed' } });
    expect((await json<{ items: unknown[] }>(['threads', 'history', thread.id])).items).toHaveLength(1);
    expect((await json<{ items: Array<{ id: string }> }>(['threads', 'ls', '--agent', agent.id])).items.map((t) => t.id)).toEqual([thread.id]);

    const key = await json<{ id: string; key: string }>(['keys', 'create', '--name', 'cli-viewer', '--role', 'viewer']);
    expect((await json<{ items: Array<{ id: string }> }>(['keys', 'ls'])).items.map((k) => k.id)).toContain(key.id);
    // A viewer may read but not write: 403 is exit 3.
    expect(await skreaver(['agents', 'ls', '--key', key.key])).toMatchObject({ code: 0 });
    expect(await skreaver(['agents', 'rm', agent.id, '--key', key.key])).toMatchObject({ code: 3 });
    expect(await skreaver(['keys', 'revoke', key.id])).toMatchObject({ code: 0 });
    expect(await skreaver(['agents', 'ls', '--key', key.key])).toMatchObject({ code: 3 });

    expect(await json(['mesh', 'send', '--input', JSON.stringify({ to: agent.id, kind: 'note', payload: { hello: 'mesh' } })])).toMatchObject({ id: expect.any(String), status: 'accepted' });
    expect(await json(['mesh', 'dead-letters'])).toMatchObject({ items: expect.any(Array) });
  }, 90_000);
});
