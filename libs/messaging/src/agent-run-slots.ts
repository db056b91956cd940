import { type RedisClient, scanKeys } from './redis-connection';
import { RedisScript } from './redis-script';
import type { FannedOutEntry } from './stream-producer';
import { ADD_LUA, type StreamJobEntry } from './stream-queue';

/** How `admit` treats a run that finds the agent at its limit. */
export type AdmissionMode = 'queue' | 'reject' | 'interrupt';

export type Admission =
  /** Admitted: enqueue its job now, unless `enqueued` (the admission's script did, `AgentRunSlots.admitNew`). */
  | { outcome: 'start'; enqueued?: true }
  /** Waiting its turn in arrival order; `release` hands it out later. */
  | { outcome: 'queued'; position: number }
  /** The agent is at its limit and the mode is `reject`: nothing was recorded. */
  | { outcome: 'rejected' }
  /** Admitted in place of the runs in `interrupted`, which the caller must cancel. */
  | { outcome: 'interrupt'; interrupted: string[] };

// The admission: `active` set, `pending` list, run id, limit, mode, and `new` for a run created just now: it can
// hold no slot nor wait in line yet, so the line is not scanned for it (LPOS is O(waiting runs)).
const ADMIT_LUA = `
local function admit(active, pending, id, limit, mode, new)
  if not new then
    if redis.call('SISMEMBER', active, id) == 1 then return {'start'} end
    local waiting = redis.call('LPOS', pending, id)
    if waiting then return {'queued', tostring(waiting + 1)} end
  end
  if mode == 'interrupt' then
    local running = redis.call('SMEMBERS', active)
    local waiting = redis.call('LRANGE', pending, 0, -1)
    redis.call('DEL', pending)
    redis.call('SADD', active, id)
    local out = {'interrupt'}
    for _, victim in ipairs(running) do table.insert(out, victim) end
    for _, victim in ipairs(waiting) do table.insert(out, victim) end
    return out
  end
  if redis.call('SCARD', active) < limit and redis.call('LLEN', pending) == 0 then
    redis.call('SADD', active, id)
    return {'start'}
  end
  if mode == 'reject' then return {'rejected'} end
  return {'queued', tostring(redis.call('RPUSH', pending, id))}
end
`;

// KEYS[1] active set, KEYS[2] pending list; ARGV: run id, limit, mode, and 'new' for a run created just now.
const ADMIT = new RedisScript(`${ADMIT_LUA}
return admit(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4] == 'new')`);

/**
 * ADMIT for a new run, after appending its first event: KEYS[3] the run's log (at the explicit id ARGV[7]), KEYS[4]
 * the fan-out stream (auto id); ARGV[5] and ARGV[6] their MAXLENs, ARGV[8] the field, ARGV[9] the JSON. A failing
 * XADD (the id is taken) ends the script with its error before anything is admitted. With `enqueue`, a run admitted
 * to start (not one that interrupts others: its victims are cancelled first) is then added to the run queue:
 * KEYS[5..7] and ARGV[10..13] are a `StreamJobEntry`, and the reply says `enqueued`.
 */
function logThenAdmit(enqueue: boolean): RedisScript {
  return new RedisScript(`${ADMIT_LUA}${enqueue ? ADD_LUA : ''}
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], ARGV[7], ARGV[8], ARGV[9])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*', ARGV[8], ARGV[9])
local out = admit(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), ARGV[3], true)
${enqueue ? `if out[1] == 'start' then
  add(KEYS[5], KEYS[6], KEYS[7], ARGV[10], ARGV[11], ARGV[12], ARGV[13])
  out[2] = 'enqueued'
end
` : ''}return out`);
}
const LOG_THEN_ADMIT = logThenAdmit(false);
const LOG_ADMIT_ENQUEUE = logThenAdmit(true);

// KEYS[1] active set, KEYS[2] pending list; ARGV: run id, limit. Frees the run's slot (or its place in line) and
// admits waiting runs in arrival order while there is room; returns the ids admitted.
const RELEASE = new RedisScript(`
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('LREM', KEYS[2], 0, ARGV[1])
local limit = tonumber(ARGV[2])
local started = {}
while redis.call('SCARD', KEYS[1]) < limit do
  local next = redis.call('LPOP', KEYS[2])
  if not next then break end
  redis.call('SADD', KEYS[1], next)
  table.insert(started, next)
end
return started
`);

/** The `Admission` an ADMIT reply stands for (`AgentRunSlots.admit` and `admitNew`). */
export function admissionOf(reply: unknown): Admission {
  const [outcome, ...rest] = reply as string[];
  if (outcome === 'start') return rest[0] === 'enqueued' ? { outcome, enqueued: true } : { outcome };
  if (outcome === 'rejected') return { outcome };
  if (outcome === 'interrupt') return { outcome, interrupted: rest };
  return { outcome: 'queued', position: Number(rest[0]) };
}

/**
 * Per-agent admission of runs, enforcing the agent's concurrency policy across every agent-api and coordinator:
 * a set of admitted runs and a FIFO of waiting ones, changed only by Lua scripts so concurrent requests cannot
 * both take the last slot. Both keys carry the agent id as their Redis Cluster hash tag.
 */
export class AgentRunSlots {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  /**
   * Asks for a slot for `runId`; `limit` is the agent's max concurrency. Idempotent: a run already admitted starts, one
   * already in line keeps its place (two processes re-admitting one run, e.g. a resume and the reconciler, queue it once).
   */
  async admit(agentId: string, runId: string, limit: number, mode: AdmissionMode): Promise<Admission> {
    return admissionOf(await ADMIT.run(this.redis, this.keys(agentId), [runId, limit, mode, 'known']));
  }

  /**
   * `admit` for a run created just now, without looking for it among the waiting runs (LPOS, O(line)). Its script is
   * sent before this returns, so it reaches the server after the commands sent before it on this connection (with
   * auto-pipelining, in the same socket write). Not idempotent: the run must not have been admitted before.
   * With `logged` (the run's first event, `RunEventLog.firstEntry`), the same script appends it first: logged, then
   * admitted, in one command on a single Redis server (the keys of a Redis Cluster are on different nodes). When
   * the append fails (its id is taken) it rejects with that error and admits nothing. With `job` as well (the run's
   * job, `StreamQueue.entry`), a run admitted to start is also enqueued by that script (`{ outcome: 'start',
   * enqueued: true }`): logged, admitted and enqueued in one command.
   */
  async admitNew(agentId: string, runId: string, limit: number, mode: AdmissionMode, logged?: FannedOutEntry, job?: StreamJobEntry): Promise<Admission> {
    const args = [runId, limit, mode, 'new'];
    if (!logged) return admissionOf(await ADMIT.run(this.redis, this.keys(agentId), args));
    const keys = [...this.keys(agentId), logged.key, logged.fanOutKey];
    args.push(logged.maxLen, logged.fanOutMaxLen, logged.id, logged.field, logged.json);
    if (!job) return admissionOf(await LOG_THEN_ADMIT.run(this.redis, keys, args));
    return admissionOf(await LOG_ADMIT_ENQUEUE.run(this.redis, [...keys, ...job.keys], [...args, ...job.args]));
  }

  /**
   * Gives back `runId`'s slot (or drops it from the line) and returns the runs admitted in its place, oldest first.
   * Idempotent: releasing twice admits nobody twice.
   */
  async release(agentId: string, runId: string, limit: number): Promise<string[]> {
    return (await RELEASE.run(this.redis, this.keys(agentId), [runId, limit])) as string[];
  }

  /** Runs admitted and runs waiting, for status reports. */
  async depth(agentId: string): Promise<{ active: number; pending: number }> {
    const [active, pending] = this.keys(agentId);
    const [[, activeCount], [, pendingCount]] = (await this.redis.multi().scard(active).llen(pending).exec()) as [
      [Error | null, number],
      [Error | null, number],
    ];
    return { active: activeCount, pending: pendingCount };
  }

  /** The runs holding a slot of `agentId`. */
  active(agentId: string): Promise<string[]> {
    return this.redis.smembers(this.keys(agentId)[0]);
  }

  /** Where `runId` stands with its agent: admitted (`active`), waiting (`pending`), or neither. */
  async standing(agentId: string, runId: string): Promise<'active' | 'pending' | null> {
    const [active, pending] = this.keys(agentId);
    if ((await this.redis.sismember(active, runId)) === 1) return 'active';
    return (await this.redis.lpos(pending, runId)) === null ? null : 'pending';
  }

  /**
   * Every agent that holds slots or has runs waiting, with those runs, a page of agents at a time (SCAN: never
   * blocks Redis; every master of a cluster). For the reconciler, which frees the slots of runs that ended without giving theirs back.
   */
  async *holders(): AsyncGenerator<{ agentId: string; active: string[]; pending: string[] }> {
    const base = `${this.keyPrefix}:agent-slots:`;
    const seen = new Set<string>();
    for await (const keys of scanKeys(this.redis, `${escapeGlob(base)}*`)) {
      for (const key of keys) {
        const match = /^\{(.+)\}:(active|pending)$/.exec(key.slice(base.length));
        const agentId = match?.[1];
        if (agentId === undefined || seen.has(agentId)) continue;
        seen.add(agentId);
        const [active, pending] = this.keys(agentId);
        const [[, members], [, waiting]] = (await this.redis.multi().smembers(active).lrange(pending, 0, -1).exec()) as [
          [Error | null, string[]],
          [Error | null, string[]],
        ];
        yield { agentId, active: members, pending: waiting };
      }
    }
  }

  /** Forgets an agent's slots (the agent was deleted). */
  async clear(agentId: string): Promise<void> {
    await this.redis.del(...this.keys(agentId));
  }

  private keys(agentId: string): [string, string] {
    const base = `${this.keyPrefix}:agent-slots:{${agentId}}`;
    return [`${base}:active`, `${base}:pending`];
  }
}

/** `text` with Redis glob metacharacters escaped, so a key prefix matches itself only. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}
