import 'reflect-metadata';

import { ConfigError } from '@skreaver/config';
import { bootService } from '@skreaver/http';
import { redisOutage } from '@skreaver/messaging';
import { JsonLogger, chooseLogOutput } from '@skreaver/observability';
import { databaseOutage, migrateDatabase } from '@skreaver/persistence';

import { AppModule } from './app.module';
import { AgentApiConfig } from './config';
import { setUpOpenApi } from './openapi/openapi.setup';

/** `--migrate-only`: apply pending migrations and exit (the Helm pre-install/pre-upgrade Job). */
async function migrateOnly(): Promise<void> {
  const config = AgentApiConfig.load();
  const logger = new JsonLogger('skreaver_agent_api', config.LOG_LEVEL, undefined, chooseLogOutput(config.LOG_FORMAT));
  const applied = await migrateDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.SKREAVER_DATA_DIR,
    poolSize: config.DATABASE_POOL_SIZE,
  });
  logger.write('info', 'Migrations applied', { applied }, 'migrate');
}

if (process.argv.includes('--migrate-only')) {
  migrateOnly().then(
    () => process.exit(0),
    (error: unknown) => {
      const message = error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(`agent-api --migrate-only failed: ${message}\n`);
      process.exit(1);
    },
  );
} else {
  bootService({
    name: 'agent-api',
    dependencyOutages: [redisOutage, databaseOutage],
    loadConfig: () => AgentApiConfig.load(),
    module: (config, logger) => AppModule.forRoot(config, logger),
    bodyLimit: (config) => config.SKREAVER_MAX_BODY_SIZE,
    configure: (app) => setUpOpenApi(app),
  });
}
