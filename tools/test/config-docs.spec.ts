// docs/configuration.md stays true to the code: its variable table is what the services' config schemas generate.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { AgentApiConfig } from '../../services/agent-api/src/config';
import { MeshCoordinatorConfig } from '../../services/mesh-coordinator/src/config';
import { WsGatewayConfig } from '../../services/ws-gateway/src/config';
import { renderConfigTable, replaceConfigTable } from '../config-docs/render.mjs';
import { ROOT } from './ops-fixtures';

describe('docs/configuration.md', () => {
  it('is what `npm run docs:config` generates from the config schemas', () => {
    const table = renderConfigTable([
      { service: 'agent-api', variables: AgentApiConfig.document() },
      { service: 'ws-gateway', variables: WsGatewayConfig.document() },
      { service: 'mesh-coordinator', variables: MeshCoordinatorConfig.document() },
    ]);
    const current = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
    // On failure: run `npm run docs:config` (a new variable also needs a .describe() text, or rendering throws).
    expect(replaceConfigTable(current, table)).toBe(current);
  });

  it('names every variable of every service', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
    for (const config of [AgentApiConfig, WsGatewayConfig, MeshCoordinatorConfig]) {
      for (const name of Object.keys(config.shape)) expect(doc).toContain(`| \`${name}\` |`);
    }
  });
});
