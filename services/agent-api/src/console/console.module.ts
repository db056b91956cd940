import { Module } from '@nestjs/common';

import { AGENT_API_CONFIG } from '../config';
import type { AgentApiConfig } from '../config';
import { ConsoleAssets } from './console.assets';
import { ConsoleController } from './console.controller';
import { CONSOLE_SETTINGS, consoleSettings } from './console-settings';

/** The web console (`GET /console`): the static build of services/console, same origin as the API. */
@Module({
  controllers: [ConsoleController],
  providers: [
    { provide: ConsoleAssets, useFactory: () => new ConsoleAssets() },
    { provide: CONSOLE_SETTINGS, inject: [AGENT_API_CONFIG], useFactory: (config: AgentApiConfig) => consoleSettings(config.SKREAVER_CONSOLE_GATEWAY_URL) },
  ],
})
export class ConsoleModule {}
