import 'reflect-metadata';

import { bootService } from '@skreaver/http';
import { redisOutage } from '@skreaver/messaging';
import { databaseOutage } from '@skreaver/persistence';

import { AppModule } from './app.module';
import { MeshCoordinatorConfig } from './config';

bootService({
  name: 'mesh-coordinator',
  dependencyOutages: [redisOutage, databaseOutage],
  loadConfig: () => MeshCoordinatorConfig.load(),
  module: (config, logger) => AppModule.forRoot(config, logger),
});
