import { InitialSchema1795854060241 } from './initial-schema.migration';
import { RunControls1795900000000 } from './run-controls.migration';
import { AuthSchema1796000000000 } from './auth-schema.migration';
import { AgentMemory1796100000000 } from './agent-memory.migration';
import { OpenRunsIndex1796200000000 } from './open-runs-index.migration';
import { RunSteps1796300000000 } from './run-steps.migration';
import { RunInputs1796400000000 } from './run-inputs.migration';
import { RunUsage1796600000000 } from './run-usage.migration';
import { LargeTenantIndexes1796700000000 } from './large-tenant-indexes.migration';
import { PartialRunIndexes1796800000000 } from './partial-run-indexes.migration';

import { Threads1796500000000 } from './threads.migration';

/** Every migration, oldest first. */
// Listed rather than globbed: the same code runs as src/*.ts under jest and as dist/*.js in production.
export const MIGRATIONS = [
  InitialSchema1795854060241,
  RunControls1795900000000,
  AuthSchema1796000000000,
  AgentMemory1796100000000,
  OpenRunsIndex1796200000000,
  RunSteps1796300000000,
  RunInputs1796400000000,
  Threads1796500000000,
  RunUsage1796600000000,
  LargeTenantIndexes1796700000000,
  PartialRunIndexes1796800000000,
];
