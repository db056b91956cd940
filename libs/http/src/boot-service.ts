import type { DynamicModule } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigError } from '@skreaver/config';
import type { LogFormat, LogLevel } from '@skreaver/config';
import { JsonLogger, chooseLogOutput } from '@skreaver/observability';
import type { DependencyOutage } from '@skreaver/util';

import { createServiceApp, listenWithGracefulShutdown } from './service-app';

/** The variables `bootService` itself needs from a service's config. */
export interface ServiceBootConfig {
  LOG_LEVEL: LogLevel;
  LOG_FORMAT?: LogFormat | undefined;
  PORT: number;
  HOST: string;
  SHUTDOWN_TIMEOUT_MS: number;
}

export interface ServiceDefinition<C extends ServiceBootConfig> {
  /** Service name, e.g. `agent-api`; the log target becomes `skreaver_agent_api`. */
  name: string;
  loadConfig: () => C;
  module: (config: C, logger: JsonLogger) => DynamicModule;
  bodyLimit?: (config: C) => number;
  /** Errors that mean a dependency is down (e.g. `redisOutage`, `databaseOutage`): 503 with their code, not 500. */
  dependencyOutages?: readonly DependencyOutage[];
  /**
   * The listen backlog, for a service that must take many connections at once (ws-gateway after a replica dies);
   * Node's default (511) when absent.
   */
  listenBacklog?: (config: C) => number;
  /** Adapters that must be set before listening (e.g. the socket.io adapter). */
  configure?: (app: NestFastifyApplication, config: C) => void;
}

/** A service's whole `main`: parse config (a bad variable stops the process naming it), build, listen, drain on SIGTERM. */
export function bootService<C extends ServiceBootConfig>(definition: ServiceDefinition<C>): void {
  const start = async () => {
    const config = definition.loadConfig();
    const target = `skreaver_${definition.name.replace(/-/g, '_')}`;
    const logger = new JsonLogger(target, config.LOG_LEVEL, undefined, chooseLogOutput(config.LOG_FORMAT));
    const app = await createServiceApp(definition.module(config, logger), {
      logger,
      bodyLimit: definition.bodyLimit?.(config),
      dependencyOutages: definition.dependencyOutages,
    });
    definition.configure?.(app, config);
    const backlog = definition.listenBacklog?.(config);
    await listenWithGracefulShutdown(app, {
      port: config.PORT,
      host: config.HOST,
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      ...(backlog === undefined ? {} : { backlog }),
    });
  };
  start().catch((error: unknown) => {
    const message =
      error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`${definition.name} failed to start: ${message}\n`);
    process.exit(1);
  });
}
