// The Skreaver web console: a single-page app over @skreaver/sdk (its ES module build, served at /console/sdk/).
// Every call goes through the SDK. The API key is exchanged for an access token at login and forgotten; the token
// lives in sessionStorage (this tab only) and in memory, never in a URL. Pages are hash routes (#/agents, …).
// The DOM is built with textContent only (no innerHTML): API data never becomes markup.
import { SkreaverClient, SkreaverError } from '/console/sdk/index.js';

const TOKEN_KEY = 'skreaver.console.token';
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const KINDS = ['echo', 'tool', 'llm', 'webhook'];

let client = null;
let claims = null;
let view = new AbortController();

const $ = (id) => document.getElementById(id);

/** An element: h('button', { type: 'button', onclick }, 'Cancel'). Strings become text nodes. */
function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

const json = (value) => h('pre', {}, JSON.stringify(value, null, 2));
const canWrite = () => claims && claims.role !== 'viewer';
const isAdmin = () => claims && claims.role === 'admin';
const link = (hash, text) => h('a', { href: hash }, text);

/** Replaces an element's children (arrays flattened, empty ones left out). */
function fill(element, ...children) {
  element.replaceChildren(...children.flat(2).filter((child) => child !== undefined && child !== null && child !== false));
}

function status(text, error = false) {
  const line = $('status');
  line.textContent = text;
  line.className = error ? 'error' : '';
}

function describe(error) {
  if (error instanceof SkreaverError) return `${error.code}: ${error.message}${error.requestId ? ` (request ${error.requestId})` : ''}`;
  return error instanceof Error ? error.message : String(error);
}

/** Runs an action, showing its failure in the status line; a 401 (token expired or revoked) logs out. */
async function act(what, action) {
  try {
    status(`${what}…`);
    const result = await action();
    status(`${what}: done`);
    return result;
  } catch (error) {
    if (error && error.name === 'AbortError') return undefined;
    if (error instanceof SkreaverError && error.status === 401) {
      forget();
      status('Your session ended: log in again', true);
      void route();
      return undefined;
    }
    status(`${what} failed: ${describe(error)}`, true);
    return undefined;
  }
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} is not valid JSON`);
  }
}

// ---- session -------------------------------------------------------------------------------------------------

/** The claims of a JWT (role, tenant, exp), read without verifying: the server checks the token on every call. */
function decode(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, '=')));
  } catch {
    return null;
  }
}

function use(token) {
  const read = decode(token);
  if (!read || typeof read.exp !== 'number' || read.exp * 1000 <= Date.now()) return false;
  claims = read;
  client = new SkreaverClient({ baseUrl: location.origin, token });
  sessionStorage.setItem(TOKEN_KEY, token);
  return true;
}

function forget() {
  sessionStorage.removeItem(TOKEN_KEY);
  client = null;
  claims = null;
}

async function login(apiKey) {
  // A client that knows the key only for this exchange; the key is not kept anywhere.
  const exchange = new SkreaverClient({ baseUrl: location.origin, apiKey });
  const answer = await exchange.auth.token();
  if (!use(answer.access_token)) throw new Error('the server answered an unusable token');
}

async function logout() {
  const current = client;
  forget();
  if (current) await current.auth.revoke().catch(() => undefined);
  status('Logged out');
  location.hash = '#/login';
  void route();
}

function chrome() {
  const signedIn = Boolean(client);
  $('nav').hidden = !signedIn;
  $('logout').hidden = !signedIn;
  $('who').textContent = signedIn ? `${claims.role} · ${claims.tenant ?? ''}` : '';
  for (const element of document.querySelectorAll('[data-role="admin"]')) element.hidden = !isAdmin();
}

// ---- pages ---------------------------------------------------------------------------------------------------

function loginPage(main) {
  const key = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', required: true, placeholder: 'sk_…' });
  const form = h('form', { 'aria-label': 'Log in' }, h('label', { for: 'api-key' }, 'API key', key), h('button', { type: 'submit' }, 'Log in'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = key.value;
    key.value = '';
    const done = await act('Logging in', () => login(value).then(() => true));
    if (done) location.hash = '#/agents';
  });
  main.append(h('h1', {}, 'Log in'), h('p', {}, 'Exchange an API key for an access token (kept in this tab only).'), form);
}

async function agentsPage(main, signal) {
  const name = h('input', { id: 'filter-name', name: 'name' });
  const kind = h('select', { id: 'filter-kind', name: 'kind' }, h('option', { value: '' }, 'any'), KINDS.map((k) => h('option', { value: k }, k)));
  const state = h('select', { id: 'filter-status', name: 'status' }, h('option', { value: '' }, 'any'), ['idle', 'running', 'error'].map((k) => h('option', { value: k }, k)));
  const table = h('tbody');
  const load = async () => {
    const list = await act('Loading agents', () =>
      client.agents.list({ name: name.value || undefined, kind: kind.value || undefined, status: state.value || undefined, limit: 100, signal }),
    );
    if (!list) return;
    fill(table,
      ...list.items.map((agent) => h('tr', {}, h('td', {}, link(`#/agents/${agent.id}`, agent.name)), h('td', {}, agent.kind), h('td', {}, agent.status), h('td', {}, agent.created_at))),
    );
  };
  const filters = h('form', { class: 'row', 'aria-label': 'Filter agents' },
    h('label', { for: 'filter-name' }, 'Name', name), h('label', { for: 'filter-kind' }, 'Kind', kind), h('label', { for: 'filter-status' }, 'Status', state),
    h('button', { type: 'submit' }, 'Filter'));
  filters.addEventListener('submit', (event) => { event.preventDefault(); void load(); });
  main.append(h('h1', {}, 'Agents'), filters,
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Kind'), h('th', {}, 'Status'), h('th', {}, 'Created'))), table));
  if (canWrite()) main.append(agentForm());
  await load();
}

/** Create an agent with the form, or from a raw JSON body. */
function agentForm() {
  const name = h('input', { id: 'agent-name', name: 'name', required: true });
  const kind = h('select', { id: 'agent-kind', name: 'kind' }, KINDS.map((k) => h('option', { value: k }, k)));
  const config = h('textarea', { id: 'agent-config', name: 'config' }, '{}');
  const form = h('form', { 'aria-label': 'Create agent' }, h('h2', {}, 'Create an agent'),
    h('label', { for: 'agent-name' }, 'Name', name), h('label', { for: 'agent-kind' }, 'Kind', kind), h('label', { for: 'agent-config' }, 'Config (JSON)', config),
    h('button', { type: 'submit' }, 'Create agent'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const agent = await act('Creating agent', () => client.agents.create({ name: name.value, kind: kind.value, config: parseJson(config.value, 'Config') }));
    if (agent) location.hash = `#/agents/${agent.id}`;
  });
  const raw = h('textarea', { id: 'agent-raw', name: 'raw' }, JSON.stringify({ name: 'greeter', kind: 'echo', config: {} }, null, 2));
  const rawForm = h('form', { 'aria-label': 'Create agent from JSON' }, h('label', { for: 'agent-raw' }, 'Or the whole request as JSON', raw), h('button', { type: 'submit' }, 'Create from JSON'));
  rawForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const agent = await act('Creating agent', () => client.agents.create(parseJson(raw.value, 'The request')));
    if (agent) location.hash = `#/agents/${agent.id}`;
  });
  return h('section', {}, form, rawForm);
}

async function agentPage(main, signal, id) {
  const agent = await act('Loading agent', () => client.agents.get(id, { signal }));
  if (!agent) return;
  main.append(h('h1', {}, `Agent ${agent.name}`), h('p', {}, h('span', { class: 'badge' }, agent.kind), ' ', agent.status, ' · ', agent.id), json(agent));
  if (canWrite()) {
    const input = h('textarea', { id: 'run-input', name: 'input' }, '{"message":"hello"}');
    const start = h('form', { 'aria-label': 'Start a run' }, h('h2', {}, 'Start a run'), h('label', { for: 'run-input' }, 'Input (JSON)', input), h('button', { type: 'submit' }, 'Start run'));
    start.addEventListener('submit', async (event) => {
      event.preventDefault();
      const run = await act('Starting run', () => client.runs.create(id, parseJson(input.value, 'Input'), { idempotencyKey: crypto.randomUUID() }));
      if (run) location.hash = `#/runs/${run.id}`;
    });
    const patch = h('textarea', { id: 'agent-patch', name: 'patch' }, JSON.stringify({ name: agent.name, config: agent.config }, null, 2));
    const edit = h('form', { 'aria-label': 'Edit agent' }, h('h2', {}, 'Edit'), h('label', { for: 'agent-patch' }, 'Changes (JSON: name, config, concurrency)', patch), h('button', { type: 'submit' }, 'Save'));
    edit.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (await act('Saving agent', () => client.agents.update(id, parseJson(patch.value, 'Changes')))) void route();
    });
    const remove = h('button', { type: 'button', class: 'secondary', onclick: async () => {
      if (!confirm(`Delete agent ${agent.name}?`)) return;
      if ((await act('Deleting agent', () => client.agents.delete(id).then(() => true)))) location.hash = '#/agents';
    } }, 'Delete agent');
    main.append(start, edit, remove);
  }
  const runs = await act('Loading runs', () => client.runs.listByAgent(id, { limit: 50, signal }));
  if (!runs) return;
  main.append(h('h2', {}, 'Runs'), runTable(runs.items));
}

function runTable(runs) {
  return h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Run'), h('th', {}, 'Status'), h('th', {}, 'Created'))),
    h('tbody', {}, runs.map((run) => h('tr', {}, h('td', {}, link(`#/runs/${run.id}`, run.id)), h('td', {}, run.status), h('td', {}, run.created_at)))));
}

async function runPage(main, signal, id) {
  const summary = h('section', { 'aria-label': 'Run' });
  const actions = h('div', { class: 'row' });
  const connection = h('p', { id: 'stream-state', role: 'status' });
  const timeline = h('ol', { id: 'timeline', class: 'timeline', 'aria-label': 'Timeline' });
  main.append(h('h1', {}, 'Run'), summary, actions, h('h2', {}, 'Timeline'), connection, timeline);
  const refresh = async () => {
    const run = await act('Loading run', () => client.runs.get(id, { signal }));
    if (!run) return;
    fill(summary,
      h('p', {}, 'Status: ', h('strong', { id: 'run-status' }, run.status), ' · agent ', link(`#/agents/${run.agent_id}`, run.agent_id),
        run.thread_id ? [' · thread ', link(`#/threads/${run.thread_id}`, run.thread_id)] : null),
      h('h2', {}, 'Input'), json(run.input),
      run.output !== null ? [h('h2', {}, 'Output'), h('pre', { id: 'run-output' }, JSON.stringify(run.output, null, 2))] : null,
      run.error ? [h('h2', {}, 'Error'), h('pre', { id: 'run-error', class: 'error-text' }, JSON.stringify(run.error, null, 2))] : null,
    );
    actions.replaceChildren();
    if (!canWrite()) return;
    if (!TERMINAL.has(run.status)) {
      actions.append(h('button', { type: 'button', onclick: () => act('Cancelling run', () => client.runs.cancel(id, { reason: 'cancelled from the console' })).then(refresh) }, 'Cancel run'));
    }
    if (run.status === 'failed' || run.status === 'cancelled') {
      actions.append(h('button', { type: 'button', onclick: async () => {
        const redriven = await act('Redriving run', () => client.runs.redrive(id));
        if (redriven) location.hash = `#/runs/${redriven.id}`;
      } }, 'Redrive'));
    }
    if (run.status === 'waiting_input') {
      const answer = h('textarea', { id: 'resume-body', name: 'resume' }, '{"inputs": {}}');
      const resume = h('form', { 'aria-label': 'Resume run' }, h('label', { for: 'resume-body' }, 'Answer (JSON: {"inputs": {…}} or {"approve": true})', answer), h('button', { type: 'submit' }, 'Resume'));
      resume.addEventListener('submit', (event) => {
        event.preventDefault();
        void act('Resuming run', () => client.runs.resume(id, parseJson(answer.value, 'The answer'), { idempotencyKey: crypto.randomUUID() })).then(refresh);
      });
      actions.append(resume);
    }
  };
  await refresh();
  // The live timeline: the run's log first, then new events as they happen; the SDK resumes after a drop.
  try {
    const stream = client.runs.stream(id, { signal, onState: (state) => { connection.textContent = state === 'live' ? 'live' : `${state}…`; } });
    for await (const event of stream) {
      timeline.append(h('li', { dataset: { type: event.type } }, `${event.seq} ${event.type} ${event.ts}`));
      if (event.type.startsWith('run.')) void refresh();
    }
    connection.textContent = 'ended';
  } catch (error) {
    if (!signal.aborted) {
      connection.textContent = `stream stopped: ${describe(error)}`;
    }
  }
}

async function threadsPage(main, signal) {
  const list = await act('Loading threads', () => client.threads.list({ limit: 100, signal }));
  main.append(h('h1', {}, 'Threads'));
  if (!list) return;
  main.append(h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Thread'), h('th', {}, 'Agent'), h('th', {}, 'Status'), h('th', {}, 'Messages'))),
    h('tbody', {}, list.items.map((thread) => h('tr', {}, h('td', {}, link(`#/threads/${thread.id}`, thread.id)), h('td', {}, link(`#/agents/${thread.agent_id}`, thread.agent_id)),
      h('td', {}, thread.status), h('td', {}, String(thread.message_count)))))));
}

async function threadPage(main, signal, id) {
  const thread = await act('Loading thread', () => client.threads.get(id, { signal }));
  if (!thread) return;
  const history = await act('Loading conversation', () => client.threads.history(id, { limit: 1, signal }));
  const messages = history?.items[0]?.messages ?? [];
  main.append(h('h1', {}, 'Thread'), h('p', {}, `${thread.status} · agent `, link(`#/agents/${thread.agent_id}`, thread.agent_id), ` · ${thread.turns} turns`),
    h('section', { 'aria-label': 'Conversation' }, messages.map((message) => h('div', { class: `msg ${message.role}` }, h('strong', {}, `${message.role}: `), message.content ?? JSON.stringify(message.tool_calls ?? null)))));
  if (canWrite()) {
    const input = h('textarea', { id: 'thread-input', name: 'input' }, '"hello"');
    const send = h('form', { 'aria-label': 'Send input' }, h('label', { for: 'thread-input' }, 'Next input (JSON)', input), h('button', { type: 'submit' }, 'Send'));
    send.addEventListener('submit', async (event) => {
      event.preventDefault();
      const run = await act('Sending', () => client.threads.run(id, parseJson(input.value, 'Input'), { idempotencyKey: crypto.randomUUID() }));
      if (run) location.hash = `#/runs/${run.id}`;
    });
    main.append(send);
  }
  main.append(h('h2', {}, 'State'), json(thread.state));
}

async function memoryPage(main, signal) {
  const agents = await act('Loading agents', () => client.agents.list({ limit: 100, signal }));
  const agent = h('select', { id: 'memory-agent', name: 'agent' }, (agents?.items ?? []).map((a) => h('option', { value: a.id }, a.name)));
  const prefix = h('input', { id: 'memory-prefix', name: 'prefix' });
  const entries = h('tbody');
  const value = h('pre', { id: 'memory-value' });
  const load = async () => {
    if (!agent.value) return;
    const list = await act('Loading memory', () => client.memory.list(agent.value, { prefix: prefix.value || undefined, limit: 100, signal }));
    if (!list) return;
    fill(entries,...list.items.map((entry) => h('tr', {},
      h('td', {}, h('button', { type: 'button', class: 'secondary', onclick: async () => {
        const read = await act('Reading', () => client.memory.get(agent.value, entry.key));
        if (read) value.textContent = JSON.stringify(read.value, null, 2);
      } }, entry.key)),
      h('td', {}, String(entry.size_bytes)),
      h('td', {}, canWrite() ? h('button', { type: 'button', class: 'secondary', onclick: () => act('Deleting', () => client.memory.delete(agent.value, entry.key)).then(load) }, 'Delete') : ''))));
  };
  const browse = h('form', { class: 'row', 'aria-label': 'Browse memory' }, h('label', { for: 'memory-agent' }, 'Agent', agent), h('label', { for: 'memory-prefix' }, 'Key prefix', prefix), h('button', { type: 'submit' }, 'List'));
  browse.addEventListener('submit', (event) => { event.preventDefault(); void load(); });
  main.append(h('h1', {}, 'Memory'), browse, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Key'), h('th', {}, 'Bytes'), h('th', {}, ''))), entries), value);
  if (canWrite()) {
    const key = h('input', { id: 'memory-key', name: 'key', required: true });
    const data = h('textarea', { id: 'memory-data', name: 'value' }, '{}');
    const put = h('form', { 'aria-label': 'Put a value' }, h('h2', {}, 'Put a value'), h('label', { for: 'memory-key' }, 'Key', key), h('label', { for: 'memory-data' }, 'Value (JSON)', data), h('button', { type: 'submit' }, 'Put'));
    put.addEventListener('submit', (event) => {
      event.preventDefault();
      void act('Writing', () => client.memory.put(agent.value, key.value, parseJson(data.value, 'Value'))).then(load);
    });
    main.append(put);
  }
  await load();
}

async function meshPage(main, signal) {
  main.append(h('h1', {}, 'Mesh'));
  const presence = await act('Loading presence', () => client.mesh.presence({ signal }));
  if (presence) {
    main.append(h('h2', {}, 'Presence'), h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Kind'), h('th', {}, 'Id'), h('th', {}, 'Load'), h('th', {}, 'Last seen'))),
      h('tbody', {}, presence.items.map((entry) => h('tr', {}, h('td', {}, entry.kind), h('td', {}, entry.id), h('td', {}, String(entry.load)), h('td', {}, entry.last_seen))))));
  }
  const letters = await act('Loading dead letters', () => client.mesh.deadLetters({ limit: 100, signal }));
  if (!letters) return;
  main.append(h('h2', {}, 'Dead letters'), h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Id'), h('th', {}, 'Reason'), h('th', {}, 'Deliveries'), h('th', {}, ''))),
    h('tbody', {}, letters.items.map((letter) => h('tr', {}, h('td', {}, letter.id), h('td', {}, `${letter.reason}: ${letter.detail}`), h('td', {}, String(letter.deliveries)),
      h('td', {}, canWrite() ? [
        h('button', { type: 'button', onclick: () => act('Redriving', () => client.mesh.redriveDeadLetter(letter.id)).then(route) }, 'Redrive'), ' ',
        h('button', { type: 'button', class: 'secondary', onclick: () => act('Deleting', () => client.mesh.removeDeadLetter(letter.id)).then(route) }, 'Delete'),
      ] : ''))))));
}

async function keysPage(main, signal) {
  main.append(h('h1', {}, 'API keys'));
  if (!isAdmin()) {
    main.append(h('p', {}, 'Only admins manage API keys.'));
    return;
  }
  const shown = h('p', { id: 'new-key', role: 'status' });
  const name = h('input', { id: 'key-name', name: 'name', required: true });
  const role = h('select', { id: 'key-role', name: 'role' }, ['viewer', 'operator', 'admin'].map((r) => h('option', { value: r }, r)));
  const create = h('form', { 'aria-label': 'Create API key' }, h('label', { for: 'key-name' }, 'Name', name), h('label', { for: 'key-role' }, 'Role', role), h('button', { type: 'submit' }, 'Create key'));
  create.addEventListener('submit', async (event) => {
    event.preventDefault();
    const created = await act('Creating key', () => client.apiKeys.create({ name: name.value, role: role.value }));
    if (!created) return;
    await route();
    $('new-key').textContent = `New key (shown once, copy it now): ${created.key}`;
  });
  const keys = await act('Loading keys', () => client.apiKeys.list({ signal }));
  main.append(shown, create);
  if (!keys) return;
  main.append(h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Prefix'), h('th', {}, 'Role'), h('th', {}, 'Revoked'), h('th', {}, ''))),
    h('tbody', {}, keys.items.map((key) => h('tr', {}, h('td', {}, key.name), h('td', {}, key.prefix), h('td', {}, key.role), h('td', {}, key.revoked_at ?? ''),
      h('td', {}, key.revoked_at ? '' : h('button', { type: 'button', class: 'secondary', onclick: () => act('Revoking key', () => client.apiKeys.revoke(key.id)).then(route) }, 'Revoke')))))));
}

// ---- routing -------------------------------------------------------------------------------------------------

const ROUTES = [
  [/^#\/agents$/, agentsPage],
  [/^#\/agents\/([\w-]+)$/, agentPage],
  [/^#\/runs\/([\w-]+)$/, runPage],
  [/^#\/threads$/, threadsPage],
  [/^#\/threads\/([\w-]+)$/, threadPage],
  [/^#\/memory$/, memoryPage],
  [/^#\/mesh$/, meshPage],
  [/^#\/keys$/, keysPage],
];

async function route() {
  view.abort();
  view = new AbortController();
  const main = $('main');
  main.replaceChildren();
  chrome();
  if (!client) {
    loginPage(main);
    return;
  }
  const hash = location.hash || '#/agents';
  for (const [pattern, page] of ROUTES) {
    const match = pattern.exec(hash);
    if (match) return page(main, view.signal, ...match.slice(1));
  }
  location.hash = '#/agents';
}

$('logout').addEventListener('click', () => void logout());
window.addEventListener('hashchange', () => void route());
const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved && !use(saved)) forget();
void route();
