import 'reflect-metadata';

import { bootService } from '@skreaver/http';

import { AppModule } from './app.module';
import { MeshCoordinatorConfig } from './config';

bootService({
  name: 'mesh-coordinator',
  loadConfig: () => MeshCoordinatorConfig.load(),
  module: (config, logger) => AppModule.forRoot(config, logger),
});
