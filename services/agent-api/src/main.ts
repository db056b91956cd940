import 'reflect-metadata';

import { bootService } from '@skreaver/http';

import { AppModule } from './app.module';
import { AgentApiConfig } from './config';

bootService({
  name: 'agent-api',
  loadConfig: () => AgentApiConfig.load(),
  module: (config, logger) => AppModule.forRoot(config, logger),
  bodyLimit: (config) => config.SKREAVER_MAX_BODY_SIZE,
});
