import { Platform } from '../support/platform';
import type { ServiceName } from '../support/platform';
import { rssOf } from '../support/process-memory';
import { RawChild } from '../support/raw-child';
import { ceiling, versus } from '../support/results';
import type { Scenario, ScenarioContext } from '../support/results';
import { sleep } from '../support/time';

const SERVICES: ServiceName[] = ['agent-api', 'ws-gateway', 'mesh-coordinator'];
const SETTLE_MS = 5_000;

/** Scenario 5: each service's time from process start to its first 200 from `/ready`, and its idle RSS. */
export const startupScenario: Scenario = {
  id: 'startup',
  title: 'Services: process start → first 200 from /ready, and idle RSS (raw Nest+Fastify hello for reference)',
  timeoutMs: (quick) => (quick ? 90_000 : 120_000),
  async run(context: ScenarioContext) {
    const spawnedAt = performance.now();
    const raw = await RawChild.start('nest-hello');
    const rawReadyMs = performance.now() - spawnedAt;
    await sleep(SETTLE_MS);
    const rawRss = rssOf(raw.pid);
    await raw.stop();

    const platform = new Platform();
    try {
      // One at a time, agent-api first on a fresh database (its time includes the migrations), as `npm start` does.
      for (const name of SERVICES) {
        const service = await platform.spawn(name);
        const readyMs = await service.waitReady();
        context.record(ceiling(`${name} ready`, 'ms', readyMs, 3000, rawReadyMs));
      }
      await sleep(SETTLE_MS);
      for (const name of SERVICES) {
        context.record(versus(`${name} idle RSS`, 'MB', rawRss / 1024 ** 2, rssOf(platform.service(name).pid) / 1024 ** 2));
      }
      context.note(`ready = spawn → first 200 from /ready (polled every 10 ms); the baseline is the raw Nest hello app's spawn → listening; idle RSS read from /proc ${SETTLE_MS / 1000} s after ready`);
    } finally {
      await platform.stop();
    }
  },
};
