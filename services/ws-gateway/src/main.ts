import 'reflect-metadata';

import { bootService } from '@skreaver/http';
import { redisOutage } from '@skreaver/messaging';
import { databaseOutage } from '@skreaver/persistence';

import { AppModule } from './app.module';
import { WsGatewayConfig } from './config';
import { WsIoAdapter } from './gateway/ws-io.adapter';

bootService({
  name: 'ws-gateway',
  dependencyOutages: [redisOutage, databaseOutage],
  loadConfig: () => WsGatewayConfig.load(),
  module: (config, logger) => AppModule.forRoot(config, logger),
  listenBacklog: (config) => config.WEBSOCKET_LISTEN_BACKLOG,
  configure: (app, config) => app.useWebSocketAdapter(new WsIoAdapter(app, config)),
});
