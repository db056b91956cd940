import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Agent, CreatedApiKey, Run, RunEventV1 } from '@skreaver/contracts';
import { waitFor } from '@skreaver/testing';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';

import { call } from '../support/api-client';
import { startStack } from '../support/stack';
import type { ServiceProcess, Stack } from '../support/stack';

// The web console at /console (React, built by Vite into services/console/dist) in a real browser (Debian's Chromium
// driven by playwright-core) against the built services: log in with an API key, create an agent with the form,
// watch a run's timeline live, cancel a slow run, a viewer sees no write buttons, log out, the token never appears in
// a URL, answer a waiting run with the form built from its JSON Schema while ws-gateway restarts, and axe-core.
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SHOTS = join(__dirname, '..', '..', '..', '.skreaver', 'test-output', 'console');
// What the asker agent asks for: the console builds the resume form from it.
const ASK_SCHEMA = {
  type: 'object',
  properties: {
    city: { type: 'string', title: 'City', minLength: 1 },
    nights: { type: 'integer', title: 'Nights', minimum: 1, default: 2 },
    breakfast: { type: 'boolean', title: 'Breakfast' },
    room: { title: 'Room', enum: ['single', 'double'], default: 'double' },
  },
  required: ['city', 'nights'],
};

describe('web console', () => {
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let pluginDir: string;
  const requestUrls: string[] = [];

  beforeAll(async () => {
    // Fails, never skips, without the browser (a test prerequisite that .ci/run installs).
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`);
    // An agent that asks a person (a JSON Schema the console turns into a form), then takes a moment and answers.
    pluginDir = mkdtempSync(join(tmpdir(), 'skreaver-e2e-console-'));
    writeFileSync(
      join(pluginDir, 'asker.mjs'),
      `import { createRequire } from 'node:module';
const { z } = createRequire(import.meta.url)(${JSON.stringify(require.resolve('zod'))});
export const asker = {
  kind: 'asker',
  description: 'asks where to book, then books',
  configSchema: z.strictObject({}),
  async run(input, context) {
    const answer = await context.waitForInput({ prompt: 'Where to?', schema: ${JSON.stringify(ASK_SCHEMA)} });
    await context.tools.call('sleep', { ms: 300 });
    return { booked: answer };
  },
};
`,
    );
    [stack, browser] = await Promise.all([
      startStack({ env: { SKREAVER_AGENT_PLUGINS: join(pluginDir, 'asker.mjs') } }),
      chromium.launch({ executablePath: CHROMIUM, args: ARGS }),
    ]);
  }, 60_000);

  beforeEach(async () => {
    context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('request', (request) => requestUrls.push(request.url()));
  });

  afterEach(async () => {
    // A screenshot of the page as the test left it (kept under .skreaver/test-output/console).
    const name = expect.getState().currentTestName?.replace(/[^\w-]+/g, '_') ?? 'test';
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true }).catch(() => undefined);
    await context.close();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    if (pluginDir) rmSync(pluginDir, { recursive: true, force: true });
  }, 30_000);

  async function logIn(apiKey: string): Promise<void> {
    await page.goto(`${stack.api.url}/console`);
    await page.getByLabel('API key').fill(apiKey);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Agents' }).waitFor();
  }

  async function tokenInStorage(): Promise<string | null> {
    // A string: the spec is compiled without the DOM library.
    return page.evaluate<string | null>("sessionStorage.getItem('skreaver.console.token')");
  }

  it('should serve the built page with a strict Content-Security-Policy and no inline script', async () => {
    const response = await fetch(`${stack.api.url}/console`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("style-src 'self';");
    expect(csp).toContain("frame-ancestors 'none'");
    // The gateway has its own port here: the page may connect there, and nowhere else.
    const gateway = stack.gateways[0]?.url ?? '';
    expect(csp).toContain(`connect-src 'self' ${gateway} ${gateway.replace('http', 'ws')};`);
    expect(csp).not.toMatch(/unsafe|\*/);
    const html = await response.text();
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((match) => match[0]);
    expect(scripts).toHaveLength(1);
    expect(scripts[0]).toMatch(/ src="\/console\/assets\/index-[\w-]+\.js"/);
    expect(html).not.toMatch(/<script\b[^>]*>[^<]+<\/script>|<style\b| style=/);
    const bundle = await fetch(`${stack.api.url}${/src="([^"]+)"/.exec(scripts[0] ?? '')?.[1] ?? ''}`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(bundle.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await (await fetch(`${stack.api.url}/console/config.json`)).json()).toEqual({ gateway_url: gateway });
    expect((await fetch(`${stack.api.url}/console/../main.js`)).status).toBe(404);
    expect((await fetch(`${stack.api.url}/console/assets/../../package.json`)).status).toBe(404);
    expect((await fetch(`${stack.api.url}/console/vite.config.ts`)).status).toBe(404);
  }, 30_000);

  it('should log in with the admin key, create an agent with the form and show a run complete live', async () => {
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await logIn(stack.adminKey);
    const token = await tokenInStorage();
    expect(token).toMatch(/^ey/);

    await page.getByLabel('Name', { exact: true }).last().fill('console-echo');
    await page.getByLabel('Config (JSON)').fill('{"delay_ms": 100}');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('heading', { name: 'Agent console-echo' }).waitFor();
    const agentId = /#\/agents\/([\w-]+)$/.exec(page.url())?.[1] ?? '';
    const agent = await call<Agent>(stack.api.url, 'GET', `/agents/${agentId}`);
    expect(agent.body).toMatchObject({ name: 'console-echo', kind: 'echo', config: { delay_ms: 100 } });

    // The coordinator is paused (SIGSTOP) while the run starts: the page shows it queued and not completed, and
    // once the coordinator goes on, the same page (no reload: a mark on its timeline stays) shows it complete.
    stack.coordinator.child.kill('SIGSTOP');
    try {
      await page.getByLabel('Input (JSON)').fill('{"message":"from the console"}');
      await page.getByRole('button', { name: 'Start run' }).click();
      await page.getByRole('heading', { name: 'Run', exact: true }).waitFor();
      await page.locator('#timeline li[data-type="run.queued"]').waitFor();
      await page.locator('#stream-state', { hasText: 'live' }).waitFor();
      expect(await page.locator('#timeline li[data-type="run.completed"]').count()).toBe(0);
      await page.locator('#timeline').evaluate((timeline: { setAttribute(name: string, value: string): void }) => timeline.setAttribute('data-mark', 'before-completion'));
    } finally {
      stack.coordinator.child.kill('SIGCONT');
    }
    await page.locator('#timeline[data-mark="before-completion"] li[data-type="run.completed"]').waitFor({ timeout: 20_000 });
    await page.locator('#run-status', { hasText: 'completed' }).waitFor();
    expect(JSON.parse((await page.locator('#run-output').textContent()) ?? 'null')).toEqual({ message: 'from the console' });
    const items = page.locator('#timeline li');
    const types = [];
    for (let i = 0; i < (await items.count()); i++) types.push(await items.nth(i).getAttribute('data-type'));
    expect(types).toEqual(['run.queued', 'run.started', 'run.completed']);
    expect(violations).toEqual([]);

    // No token and no key in any URL the page visited or requested.
    expect(requestUrls.length).toBeGreaterThan(5);
    for (const url of [...requestUrls, page.url()]) {
      expect(url).not.toContain(token as string);
      expect(url).not.toContain(stack.adminKey);
      expect(url).not.toMatch(/token=|api_key=/);
    }
  }, 30_000);

  it('should cancel a slow run from the run page', async () => {
    const agent = await call<Agent>(stack.api.url, 'POST', '/agents', { name: 'slow', kind: 'echo', config: { delay_ms: 30_000 } });
    const run = await call<Run>(stack.api.url, 'POST', `/agents/${agent.body.id}/runs`, { input: 'slow' });
    await logIn(stack.adminKey);
    await page.goto(`${stack.api.url}/console#/runs/${run.body.id}`);
    await page.locator('#timeline li[data-type="run.started"]').waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.locator('#timeline li[data-type="run.cancelled"]').waitFor({ timeout: 15_000 });
    await page.locator('#run-status', { hasText: 'cancelled' }).waitFor();
    await page.getByRole('button', { name: 'Redrive' }).waitFor();
    expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
    const after = await waitFor(async () => {
      const current = await call<Run>(stack.api.url, 'GET', `/runs/${run.body.id}`);
      return current.body.status === 'cancelled' ? current.body : undefined;
    }, { what: 'the run to be cancelled' });
    expect(after.status).toBe('cancelled');
  }, 30_000);

  it('should show a viewer no write buttons', async () => {
    const created = await call<CreatedApiKey>(stack.api.url, 'POST', '/api-keys', { name: 'console-viewer', role: 'viewer' });
    expect(created.status).toBe(201);
    const agent = await call<Agent>(stack.api.url, 'POST', '/agents', { name: 'seen', kind: 'echo', config: {} });
    const run = await call<Run>(stack.api.url, 'POST', `/agents/${agent.body.id}/runs`, { input: 'x' });
    await logIn(created.body.key);
    await page.getByRole('link', { name: 'seen' }).first().waitFor();
    const writeButtons = /Create|Start run|Save|Delete|Cancel run|Redrive|Resume|Send|Put|Revoke/;
    expect(await page.getByRole('button', { name: writeButtons }).count()).toBe(0);
    await page.goto(`${stack.api.url}/console#/agents/${agent.body.id}`);
    await page.getByRole('heading', { name: 'Agent seen' }).waitFor();
    expect(await page.getByRole('button', { name: writeButtons }).count()).toBe(0);
    await page.goto(`${stack.api.url}/console#/runs/${run.body.id}`);
    await page.locator('#timeline li[data-type="run.completed"]').waitFor({ timeout: 15_000 });
    expect(await page.getByRole('button', { name: writeButtons }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'API keys' }).isVisible()).toBe(false);
    // Only Log out is a button a viewer sees.
    expect(await page.getByRole('button').allTextContents()).toEqual(['Log out']);
  }, 30_000);

  it('should clear the token at logout and revoke it', async () => {
    await logIn(stack.adminKey);
    const token = (await tokenInStorage()) as string;
    expect(token).toBeTruthy();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    expect(await tokenInStorage()).toBeNull();
    await page.reload();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    // The server refuses the old token: logout revoked it, not only forgot it.
    await waitFor(async () => (await fetch(`${stack.api.url}/agents`, { headers: { authorization: `Bearer ${token}` } })).status === 401, { what: 'the token to be revoked' });
  }, 30_000);
  it('should manage memory, API keys, threads and the mesh pages as an admin', async () => {
    const agent = await call<Agent>(stack.api.url, 'POST', '/agents', { name: 'memo', kind: 'echo', config: {} });
    const thread = await call<{ id: string }>(stack.api.url, 'POST', '/threads', { agent_id: agent.body.id });
    expect(thread.status).toBe(201);
    await logIn(stack.adminKey);

    await page.getByRole('link', { name: 'Memory' }).click();
    await page.getByRole('heading', { name: 'Memory' }).waitFor();
    await page.getByRole('form', { name: 'Browse memory' }).getByLabel('Agent').selectOption({ label: 'memo' });
    await page.getByLabel('Key', { exact: true }).fill('greeting');
    await page.getByLabel('Value (JSON)').fill('{"text":"hi"}');
    await page.getByRole('button', { name: 'Put' }).click();
    await page.getByRole('button', { name: 'greeting', exact: true }).click();
    await page.locator('#memory-value', { hasText: '"text": "hi"' }).waitFor();
    const stored = await call<{ value: unknown }>(stack.api.url, 'GET', `/agents/${agent.body.id}/memory/greeting`);
    expect(stored.body.value).toEqual({ text: 'hi' });

    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('made-in-console');
    await page.getByLabel('Role').selectOption('operator');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = (await page.locator('#new-key', { hasText: 'sk_' }).textContent()) ?? '';
    const key = /sk_\S+/.exec(shown)?.[0] ?? '';
    expect((await fetch(`${stack.api.url}/auth/token`, { method: 'POST', headers: { 'x-api-key': key } })).status).toBe(200);
    await page.getByRole('cell', { name: 'made-in-console' }).waitFor();

    await page.getByRole('link', { name: 'Threads' }).click();
    await page.getByRole('link', { name: thread.body.id }).click();
    await page.getByLabel('Next input (JSON)').fill('"hello thread"');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('#timeline li[data-type="run.completed"]').waitFor({ timeout: 15_000 });
    await page.locator('#run-output', { hasText: 'hello thread' }).waitFor();

    await page.getByRole('link', { name: 'Mesh' }).click();
    await page.getByRole('heading', { name: 'Dead letters' }).waitFor();
    await page.getByRole('cell', { name: 'coordinator' }).first().waitFor();
    expect(await page.locator('#status.error').count()).toBe(0);
  }, 30_000);
  it('should resume a waiting run with the form built from its schema while ws-gateway restarts, then show exactly the log', async () => {
    const agent = await call<Agent>(stack.api.url, 'POST', '/agents', { name: 'asker', kind: 'asker', config: {} });
    expect(agent.status).toBe(201);
    const run = await call<Run>(stack.api.url, 'POST', `/agents/${agent.body.id}/runs`, { input: 'book' });
    await waitFor(async () => (await call<Run>(stack.api.url, 'GET', `/runs/${run.body.id}`)).body.status === 'waiting_input', { what: 'the run to wait for input', timeoutMs: 20_000 });
    await logIn(stack.adminKey);
    await page.goto(`${stack.api.url}/console#/runs/${run.body.id}`);
    await page.locator('#timeline li[data-type="run.waiting_input"]').waitFor();
    await page.locator('#stream-state', { hasText: 'live' }).waitFor();

    // The form from the schema: labels from titles, defaults filled in, the required field checked before sending.
    const form = page.getByRole('form', { name: 'Resume run', exact: true });
    await form.getByRole('group', { name: 'Where to?' }).waitFor();
    expect(await form.getByLabel('Nights').inputValue()).toBe('2');
    expect(await form.getByLabel('Room').locator('option:checked').textContent()).toBe('double');
    expect(await form.getByLabel('Breakfast').isChecked()).toBe(false);
    await form.getByRole('button', { name: 'Resume' }).click();
    await page.locator('#input_1-city-error', { hasText: 'required' }).waitFor();
    expect((await call<Run>(stack.api.url, 'GET', `/runs/${run.body.id}`)).body.status).toBe('waiting_input');

    // No reload from here on: a mark on the timeline must still be there at the end.
    await page.locator('#timeline').evaluate((timeline: { setAttribute(name: string, value: string): void }) => timeline.setAttribute('data-mark', 'before-restart'));
    const gateway = stack.gateways[0] as ServiceProcess;
    gateway.child.kill('SIGKILL');
    await gateway.exited;
    await page.locator('#stream-state', { hasText: 'reconnecting' }).waitFor();

    // Answered while the gateway is down (the answer goes to agent-api): the run finishes meanwhile.
    await form.getByLabel('City').fill('Oslo');
    await form.getByLabel('Breakfast').check();
    await form.getByRole('button', { name: 'Resume' }).click();
    const done = await waitFor(async () => {
      const current = (await call<Run>(stack.api.url, 'GET', `/runs/${run.body.id}`)).body;
      return current.status === 'completed' ? current : undefined;
    }, { what: 'the resumed run to complete', timeoutMs: 20_000 });
    expect(done.output).toEqual({ booked: { city: 'Oslo', nights: 2, breakfast: true, room: 'double' } });
    expect(await page.locator('#timeline li[data-type="run.completed"]').count()).toBe(0);
    expect(await page.locator('#stream-state').textContent()).toMatch(/reconnecting/);

    await stack.launch('ws-gateway', gateway.port);
    await page.locator('#timeline[data-mark="before-restart"] li[data-type="run.completed"]').waitFor({ timeout: 20_000 });
    await page.locator('#stream-state', { hasText: 'ended' }).waitFor();
    const log = (await call<{ items: RunEventV1[] }>(stack.api.url, 'GET', `/runs/${run.body.id}/events?limit=1000`)).body.items;
    const shown = await page.locator('#timeline li').evaluateAll((items: Array<{ getAttribute(name: string): string | null }>) =>
      items.map((item) => `${item.getAttribute('data-seq')} ${item.getAttribute('data-type')}`),
    );
    expect(shown).toEqual(log.map((event) => `${event.seq} ${event.type}`));
    expect(log.at(-1)?.type).toBe('run.completed');
    await page.locator('#run-status', { hasText: 'completed' }).waitFor();
  }, 90_000);

  it('should follow a run over agent-api\'s server-sent events when ws-gateway cannot be reached', async () => {
    // Every socket to the gateway is closed at once, as by an edge that does not route /socket.io.
    await page.routeWebSocket(/\/socket\.io\//, (socket) => socket.close({ code: 1011, reason: 'no gateway here' }));
    const streams: string[] = [];
    page.on('request', (request) => {
      if (request.headers()['accept'] === 'text/event-stream') streams.push(request.url());
    });
    const agent = await call<Agent>(stack.api.url, 'POST', '/agents', { name: 'no-gateway', kind: 'echo', config: { delay_ms: 3_000 } });
    await logIn(stack.adminKey);
    const run = await call<Run>(stack.api.url, 'POST', `/agents/${agent.body.id}/runs`, { input: 'over sse' });
    await page.goto(`${stack.api.url}/console#/runs/${run.body.id}`);
    await page.locator('#timeline li[data-type="run.queued"]').waitFor();
    await page.locator('#timeline').evaluate((timeline: { setAttribute(name: string, value: string): void }) => timeline.setAttribute('data-mark', 'before-completion'));
    await page.locator('#timeline[data-mark="before-completion"] li[data-type="run.completed"]').waitFor({ timeout: 20_000 });
    await page.locator('#stream-state', { hasText: 'ended' }).waitFor();
    expect(streams).toEqual([expect.stringContaining(`/runs/${run.body.id}/events`)]);
    const log = (await call<{ items: RunEventV1[] }>(stack.api.url, 'GET', `/runs/${run.body.id}/events?limit=1000`)).body.items;
    const shown = await page.locator('#timeline li').evaluateAll((items: Array<{ getAttribute(name: string): string | null }>) => items.map((item) => item.getAttribute('data-type')));
    expect(shown).toEqual(log.map((event) => event.type));
  }, 60_000);

  it('should have no serious or critical accessibility violations (axe-core) on its pages', async () => {
    // axe-core is injected as a script: the page's own CSP forbids that, so this context alone bypasses it.
    await context.close();
    context = await browser.newContext({ bypassCSP: true });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const axe = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    const agent = await call<Agent>(stack.api.url, 'POST', '/agents', { name: 'a11y', kind: 'echo', config: {} });
    const run = await call<Run>(stack.api.url, 'POST', `/agents/${agent.body.id}/runs`, { input: 'x' });
    expect(run.status).toBe(202);
    const scan = async (what: string) => {
      await page.addScriptTag({ content: axe });
      const result = await page.evaluate<{ passes: unknown[]; violations: Array<{ id: string; impact: string | null; nodes: unknown[] }> }>('axe.run(document)');
      expect(result.passes.length).toBeGreaterThan(5);
      return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${what}: ${v.id} (${v.nodes.length})`);
    };
    const found: string[] = [];
    await page.goto(`${stack.api.url}/console`);
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    found.push(...(await scan('login')));
    await logIn(stack.adminKey);
    found.push(...(await scan('agents')));
    for (const [hash, heading] of [[`#/agents/${agent.body.id}`, 'Agent a11y'], [`#/runs/${run.body.id}`, 'Run'], ['#/threads', 'Threads'], ['#/memory', 'Memory'], ['#/mesh', 'Mesh'], ['#/keys', 'API keys']] as const) {
      await page.goto(`${stack.api.url}/console${hash}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      found.push(...(await scan(hash)));
    }
    expect(found).toEqual([]);
  }, 60_000);
});
