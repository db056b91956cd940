import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { SkreaverClient, SkreaverError, isTerminalEvent } from '@skreaver/sdk';
import type { CreateAgentRequest, PostMeshMessageRequest, ResumeRunRequest, RunEventStream } from '@skreaver/sdk';
import type { Agent, ApiKey, JsonValue, MemoryEntry, MeshDeadLetter, Run, RunEventV1, Thread } from '@skreaver/contracts';

import { CliError, EXIT, describeError, exitCodeOf, usageError } from './exit-codes';
import { FORMATS, Printer, Spinner } from './output';
import type { Column, OutputFormat } from './output';
import { configPath, readConfig, resolveTarget, writeConfig } from './profiles';

export const USAGE = `skreaver — the Skreaver command line (docs/cli.md)

  skreaver login --url <api url> --key <api key> [--profile <name>]
  skreaver status [--api-url <url>] [--gateway-url <url>] [--mesh-url <url>]
  skreaver agents ls [--kind k] [--status s] [--name n] [--limit n] | get <id> | create -f agent.json | rm <id>
  skreaver runs create <agent> --input @file|<json> [--wait | --follow [--cancel-on-exit]] [--idempotency-key k]
  skreaver runs ls [--agent id] [--status s] [--limit n] | get <id> | cancel <id> [--reason r] | redrive <id>
  skreaver runs resume <id> --input @file|<json>          (e.g. '{"inputs":{"input_1":"Paris"}}' or '{"approve":true}')
  skreaver events <run> [--follow [--cancel-on-exit]] [--after <event id>] [--limit n]
  skreaver threads ls [--agent id] | create --agent <id> [--input <metadata json>] | history <thread>
  skreaver threads run <thread> --input @file|<json> [--wait | --follow [--cancel-on-exit]]
  skreaver memory ls <agent> [--prefix p] | get <agent> <key> | put <agent> <key> --input @file|<json> [--ttl s]
  skreaver mesh send --input @file|<json> | dead-letters [--limit n]
  skreaver keys create --name <name> --role admin|operator|viewer [--tenant t] | ls | revoke <id>

Options: -o, --output table|json|yaml (table)   --url, --key, --profile (else SKREAVER_API_URL, SKREAVER_API_KEY,
SKREAVER_PROFILE, then the profile in $SKREAVER_CONFIG or ~/.config/skreaver/config.json)   -h, --help
Exit codes: 0 ok, 1 run failed/cancelled (or another API error), 2 usage, 3 auth, 4 not found, 5 unavailable, 130 Ctrl-C.
`;

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  url: { type: 'string' },
  key: { type: 'string' },
  profile: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  file: { type: 'string', short: 'f' },
  input: { type: 'string', short: 'i' },
  wait: { type: 'boolean' },
  follow: { type: 'boolean' },
  'cancel-on-exit': { type: 'boolean' },
  'idempotency-key': { type: 'string' },
  after: { type: 'string' },
  limit: { type: 'string' },
  kind: { type: 'string' },
  status: { type: 'string' },
  name: { type: 'string' },
  agent: { type: 'string' },
  reason: { type: 'string' },
  prefix: { type: 'string' },
  ttl: { type: 'string' },
  role: { type: 'string' },
  tenant: { type: 'string' },
  'api-url': { type: 'string' },
  'gateway-url': { type: 'string' },
  'mesh-url': { type: 'string' },
} as const;

type Flags = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError((error as Error).message);
  }
}

/** What a command gets: its arguments, the flags, the printer, and the client (made on first use). */
interface Context {
  args: string[];
  flags: Flags;
  print: Printer;
  err: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  client(): Promise<SkreaverClient>;
}

const arg = (context: Context, index: number, name: string): string => {
  const value = context.args[index];
  if (!value) throw usageError(`missing <${name}>`);
  return value;
};

const limitOf = (flags: Flags): number | undefined => {
  if (flags.limit === undefined) return undefined;
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1) throw usageError(`--limit must be a positive integer, not "${flags.limit}"`);
  return limit;
};

/** `@path` (a file, `@-` for stdin) or inline JSON. */
async function jsonInput(source: string | undefined, what: string): Promise<JsonValue> {
  if (source === undefined) throw usageError(`missing ${what} (@file or JSON)`);
  let text = source;
  if (source.startsWith('@')) {
    const path = source.slice(1);
    try {
      text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
    } catch (error) {
      throw usageError(`cannot read ${path}: ${(error as Error).message}`);
    }
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    if (source.startsWith('@')) throw usageError(`${source.slice(1)} is not JSON`);
    // A bare word is taken as a JSON string: `--input hello` is "hello".
    return text;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const AGENT_COLUMNS: Column<Agent>[] = [
  { header: 'id', cell: (a) => a.id },
  { header: 'name', cell: (a) => a.name },
  { header: 'kind', cell: (a) => a.kind },
  { header: 'status', cell: (a) => a.status },
  { header: 'created', cell: (a) => a.created_at },
];
const RUN_COLUMNS: Column<Run>[] = [
  { header: 'id', cell: (r) => r.id },
  { header: 'agent', cell: (r) => r.agent_id },
  { header: 'status', cell: (r) => r.status },
  { header: 'created', cell: (r) => r.created_at },
  { header: 'output', cell: (r) => r.error?.message ?? r.output },
];
const THREAD_COLUMNS: Column<Thread>[] = [
  { header: 'id', cell: (t) => t.id },
  { header: 'agent', cell: (t) => t.agent_id },
  { header: 'status', cell: (t) => t.status },
  { header: 'metadata', cell: (t) => t.metadata },
];
const KEY_COLUMNS: Column<ApiKey>[] = [
  { header: 'id', cell: (k) => k.id },
  { header: 'name', cell: (k) => k.name },
  { header: 'role', cell: (k) => k.role },
  { header: 'prefix', cell: (k) => k.prefix },
  { header: 'revoked', cell: (k) => k.revoked_at },
];
const MEMORY_COLUMNS: Column<MemoryEntry>[] = [
  { header: 'key', cell: (m) => m.key },
  { header: 'value', cell: (m) => m.value },
];
const DEAD_LETTER_COLUMNS: Column<MeshDeadLetter>[] = [
  { header: 'id', cell: (d) => d.id },
  { header: 'reason', cell: (d) => d.reason },
  { header: 'deliveries', cell: (d) => d.deliveries },
  { header: 'at', cell: (d) => d.ts },
  { header: 'message', cell: (d) => d.message },
];

/** One line describing an event (table output of `--follow` and `events`). */
export function eventLine(event: RunEventV1): string {
  const data = event.data as Record<string, unknown>;
  let detail = '';
  if (event.type === 'message.delta') detail = JSON.stringify(data.text);
  else if (event.type === 'run.completed') detail = JSON.stringify(data.output ?? null);
  else if (event.type === 'run.failed') detail = `${JSON.stringify(data.error ?? null)}${data.final ? '' : ' (will retry)'}`;
  else if (data && Object.keys(data).length > 0) detail = JSON.stringify(data);
  return `${event.id}  ${event.type}  ${detail}`.trimEnd();
}

const runExit = (run: Run) => (run.status === 'failed' || run.status === 'cancelled' ? EXIT.failed : EXIT.ok);

/**
 * Prints a run's events until its terminal event (`--follow`), or shows a progress line until then (`--wait`).
 * Ctrl-C detaches (the run goes on), or with `--cancel-on-exit` cancels it first.
 */
async function watchRun(context: Context, runId: string, mode: 'follow' | 'wait', after?: string): Promise<number> {
  const client = await context.client();
  const spinner = new Spinner(process.stdout);
  const abort = new AbortController();
  let interrupted = false;
  let last: RunEventV1 | undefined = undefined;
  const onSigint = () => {
    if (interrupted) process.exit(EXIT.interrupted);
    interrupted = true;
    abort.abort(new CliError('interrupted', EXIT.interrupted));
  };
  process.on('SIGINT', onSigint);
  const stream: RunEventStream = client.events.stream(runId, {
    after,
    signal: abort.signal,
    onState: (state) => spinner.update(`${runId}: ${state === 'live' ? (last?.type ?? 'waiting for events') : state}`),
  });
  spinner.start(`${runId}: connecting`);
  try {
    for await (const event of stream) {
      last = event;
      if (mode === 'follow') {
        spinner.clear();
        context.print.streamed(event, eventLine(event));
      }
      spinner.update(`${runId}: ${event.type}`);
      if (isTerminalEvent(event)) break;
    }
  } catch (error) {
    if (!interrupted) throw error;
  } finally {
    spinner.stop();
    process.off('SIGINT', onSigint);
  }
  if (interrupted) {
    if (context.flags['cancel-on-exit']) {
      const cancelled = await client.runs.cancel(runId, { reason: 'skreaver: cancelled on exit (Ctrl-C)' });
      context.err.write(`run ${runId} cancelled (${cancelled.status})\n`);
    } else {
      const resume = `skreaver events ${runId} --follow${last ? ` --after ${last.id}` : ''}`;
      context.err.write(`detached: run ${runId} goes on; follow it again with \`${resume}\`\n`);
    }
    return EXIT.interrupted;
  }
  const run = await client.runs.get(runId);
  if (mode === 'wait') context.print.record(run);
  else if (context.print.format === 'table') context.err.write(`run ${run.id} ${run.status}\n`);
  return runExit(run);
}

async function startedRun(context: Context, run: Run): Promise<number> {
  if (context.flags.wait && context.flags.follow) throw usageError('--wait and --follow exclude each other');
  if (context.flags.follow) {
    if (context.print.format === 'table') context.err.write(`run ${run.id} started\n`);
    return watchRun(context, run.id, 'follow');
  }
  if (context.flags.wait) return watchRun(context, run.id, 'wait');
  context.print.record(run);
  return EXIT.ok;
}

type Handler = (context: Context) => Promise<number | void>;

const COMMANDS: Record<string, Record<string, Handler> | Handler> = {
  login: async (context) => {
    const url = context.flags.url ?? context.env.SKREAVER_API_URL;
    const key = context.flags.key ?? context.env.SKREAVER_API_KEY;
    if (!url || !key) throw usageError('login needs --url and --key (or SKREAVER_API_URL and SKREAVER_API_KEY)');
    const client = new SkreaverClient({ baseUrl: url, apiKey: key, retry: { retries: 1 } });
    // Checks both: the key is exchanged for a token, then used.
    await client.agents.list({ limit: 1 });
    const path = configPath(context.env);
    const config = await readConfig(path);
    const name = context.flags.profile ?? 'default';
    config.profiles[name] = { url, key };
    config.current = name;
    await writeConfig(path, config);
    context.err.write(`logged in to ${url} as profile "${name}" (${path}, mode 0600)\n`);
  },
  status: async (context) => {
    const env = context.env;
    const services: [string, string][] = [
      ['agent-api', context.flags['api-url'] ?? env.SKREAVER_API_URL ?? 'http://localhost:8080'],
      ['ws-gateway', context.flags['gateway-url'] ?? env.SKREAVER_GATEWAY_URL ?? 'http://localhost:8081'],
      ['mesh-coordinator', context.flags['mesh-url'] ?? env.SKREAVER_MESH_URL ?? 'http://localhost:8082'],
    ];
    const check = async (call: Promise<{ status: string }>) => {
      try {
        return (await call).status;
      } catch (error) {
        if (error instanceof SkreaverError && error.status === 0) return 'unreachable';
        // /ready answers 503 with its report (not an API error body) when a required dependency is down.
        if (error instanceof SkreaverError && error.status === 503) return 'not_ready';
        if (error instanceof SkreaverError) return `${error.status} ${error.code}`;
        throw error;
      }
    };
    const rows = await Promise.all(
      services.map(async ([service, url]) => {
        const client = new SkreaverClient({ baseUrl: url, retry: { retries: 0 } });
        const [health, ready] = await Promise.all([check(client.system.health()), check(client.system.ready())]);
        return { service, url, health, ready };
      }),
    );
    context.print.list(rows, rows, [
      { header: 'service', cell: (r) => r.service },
      { header: 'url', cell: (r) => r.url },
      { header: 'health', cell: (r) => r.health },
      { header: 'ready', cell: (r) => r.ready },
    ]);
    // `degraded`: an optional dependency is down, the service still serves.
    return rows.every((row) => row.health === 'ok' && (row.ready === 'ready' || row.ready === 'degraded')) ? EXIT.ok : EXIT.unavailable;
  },
  agents: {
    ls: async (context) => {
      const { kind, status, name } = context.flags;
      const page = await (await context.client()).agents.list({ kind, status, name, limit: limitOf(context.flags) });
      context.print.list(page, page.items, AGENT_COLUMNS);
    },
    get: async (context) => context.print.record(await (await context.client()).agents.get(arg(context, 0, 'agent id'))),
    create: async (context) => {
      if (!context.flags.file) throw usageError('agents create needs -f <agent.json> (or -f - for stdin)');
      const body = await jsonInput(context.flags.file === '-' ? '@-' : `@${context.flags.file}`, 'the agent');
      context.print.record(await (await context.client()).agents.create(body as CreateAgentRequest));
    },
    rm: async (context) => {
      const id = arg(context, 0, 'agent id');
      await (await context.client()).agents.delete(id);
      context.err.write(`agent ${id} deleted\n`);
    },
  },
  runs: {
    create: async (context) => {
      const agentId = arg(context, 0, 'agent id');
      const input = await jsonInput(context.flags.input, '--input');
      const run = await (await context.client()).runs.create(agentId, input, { idempotencyKey: context.flags['idempotency-key'] });
      return startedRun(context, run);
    },
    ls: async (context) => {
      const page = await (await context.client()).runs.list({ agentId: context.flags.agent, status: context.flags.status as Run['status'] | undefined, limit: limitOf(context.flags) });
      context.print.list(page, page.items, RUN_COLUMNS);
    },
    get: async (context) => {
      const run = await (await context.client()).runs.get(arg(context, 0, 'run id'));
      context.print.record(run);
    },
    cancel: async (context) => context.print.record(await (await context.client()).runs.cancel(arg(context, 0, 'run id'), { reason: context.flags.reason })),
    redrive: async (context) => context.print.record(await (await context.client()).runs.redrive(arg(context, 0, 'run id'))),
    resume: async (context) => {
      const id = arg(context, 0, 'run id');
      const answer = await jsonInput(context.flags.input, '--input');
      const run = await (await context.client()).runs.resume(id, answer as ResumeRunRequest, { idempotencyKey: context.flags['idempotency-key'] });
      return startedRun(context, run);
    },
  },
  events: async (context) => {
    const runId = arg(context, 0, 'run id');
    if (context.flags.follow) return watchRun(context, runId, 'follow', context.flags.after);
    const page = await (await context.client()).events.list(runId, { after: context.flags.after, limit: limitOf(context.flags) });
    if (context.print.format === 'table') for (const event of page.items) context.print.streamed(event, eventLine(event));
    else context.print.value(page);
  },
  threads: {
    ls: async (context) => {
      const page = await (await context.client()).threads.list({ agentId: context.flags.agent, limit: limitOf(context.flags) });
      context.print.list(page, page.items, THREAD_COLUMNS);
    },
    create: async (context) => {
      if (!context.flags.agent) throw usageError('threads create needs --agent <id>');
      const metadata = context.flags.input === undefined ? undefined : await jsonInput(context.flags.input, '--input');
      context.print.record(await (await context.client()).threads.create({ agent_id: context.flags.agent, ...(metadata ? { metadata: metadata as Record<string, JsonValue> } : {}) }));
    },
    run: async (context) => {
      const threadId = arg(context, 0, 'thread id');
      const input = await jsonInput(context.flags.input, '--input');
      const run = await (await context.client()).threads.run(threadId, input, { idempotencyKey: context.flags['idempotency-key'] });
      return startedRun(context, run);
    },
    history: async (context) => {
      const page = await (await context.client()).threads.history(arg(context, 0, 'thread id'), { limit: limitOf(context.flags) });
      context.print.list(page, page.items, [
        { header: 'checkpoint', cell: (c) => c.id },
        { header: 'step', cell: (c) => c.step },
        { header: 'run', cell: (c) => c.run_id },
        { header: 'created', cell: (c) => c.created_at },
      ]);
    },
  },
  memory: {
    ls: async (context) => {
      const page = await (await context.client()).memory.list(arg(context, 0, 'agent id'), { prefix: context.flags.prefix, after: context.flags.after, limit: limitOf(context.flags) });
      context.print.list(page, page.items, MEMORY_COLUMNS);
    },
    get: async (context) => context.print.record(await (await context.client()).memory.get(arg(context, 0, 'agent id'), arg(context, 1, 'key'))),
    put: async (context) => {
      const ttl = context.flags.ttl === undefined ? undefined : Number(context.flags.ttl);
      if (ttl !== undefined && !(ttl > 0)) throw usageError('--ttl must be a positive number of seconds');
      const value = await jsonInput(context.flags.input, '--input');
      context.print.record(await (await context.client()).memory.put(arg(context, 0, 'agent id'), arg(context, 1, 'key'), value, { ttlSeconds: ttl }));
    },
  },
  mesh: {
    send: async (context) => {
      const message = await jsonInput(context.flags.input ?? (context.flags.file ? `@${context.flags.file}` : undefined), '--input');
      context.print.record(await (await context.client()).mesh.send(message as PostMeshMessageRequest));
    },
    'dead-letters': async (context) => {
      const page = await (await context.client()).mesh.deadLetters({ limit: limitOf(context.flags) });
      context.print.list(page, page.items, DEAD_LETTER_COLUMNS);
    },
  },
  keys: {
    create: async (context) => {
      const { name, role, tenant } = context.flags;
      if (!name || !role) throw usageError('keys create needs --name and --role admin|operator|viewer');
      const created = await (await context.client()).apiKeys.create({ name, role: role as ApiKey['role'], ...(tenant ? { tenant_id: tenant } : {}) });
      context.print.record(created);
      if (context.print.format === 'table') context.err.write('the key is shown once: store it now\n');
    },
    ls: async (context) => {
      const page = await (await context.client()).apiKeys.list({ prefix: context.flags.prefix });
      context.print.list(page, page.items, KEY_COLUMNS);
    },
    revoke: async (context) => {
      const id = arg(context, 0, 'key id');
      await (await context.client()).apiKeys.revoke(id);
      context.err.write(`key ${id} revoked\n`);
    },
  },
};

/** Runs the command line `argv` (without node and the script); resolves with the exit code. */
export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const err = process.stderr;
  try {
    const { values: flags, positionals } = parse(argv);
    const [command, ...rest] = positionals;
    if (flags.help || command === undefined || command === 'help') {
      (command === undefined && !flags.help ? err : process.stdout).write(USAGE);
      return command === undefined && !flags.help ? EXIT.usage : EXIT.ok;
    }
    const format = (flags.output ?? 'table') as OutputFormat;
    if (!FORMATS.includes(format)) throw usageError(`--output must be one of ${FORMATS.join(', ')}, not "${flags.output}"`);
    const entry = COMMANDS[command];
    if (!entry) throw usageError(`unknown command "${command}" (skreaver --help)`);
    let handler: Handler;
    let args: string[];
    if (typeof entry === 'function') {
      handler = entry;
      args = rest;
    } else {
      const [sub, ...subArgs] = rest;
      const found = sub === undefined ? undefined : entry[sub];
      if (!found) throw usageError(`${command} needs one of: ${Object.keys(entry).join(', ')}${sub ? ` (not "${sub}")` : ''}`);
      handler = found;
      args = subArgs;
    }
    let client: SkreaverClient | undefined;
    const context: Context = {
      args,
      flags,
      env,
      err,
      print: new Printer(format, process.stdout),
      client: async () => {
        if (!client) {
          const target = await resolveTarget(flags, env);
          if (!target.key) throw new CliError('no API key: run `skreaver login` or set SKREAVER_API_KEY', EXIT.auth);
          client = new SkreaverClient({ baseUrl: target.url, apiKey: target.key, headers: { 'user-agent': 'skreaver-cli/0.1.0' } });
        }
        return client;
      },
    };
    return (await handler(context)) ?? EXIT.ok;
  } catch (error) {
    err.write(`${describeError(error)}\n`);
    if (exitCodeOf(error) === EXIT.usage && error instanceof CliError) err.write('(skreaver --help shows every command)\n');
    return exitCodeOf(error);
  }
}

/** The `skreaver` bin: runs and exits with the command's code once its output is flushed. */
export function main(argv: string[]): void {
  void run(argv).then((code) => {
    process.exitCode = code;
  });
}
