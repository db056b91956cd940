import { Module } from '@nestjs/common';

import { ConsoleAssets } from './console.assets';
import { ConsoleController } from './console.controller';

/** The web console (`GET /console`): static files over @skreaver/sdk, same origin as the API. */
@Module({
  controllers: [ConsoleController],
  providers: [{ provide: ConsoleAssets, useFactory: () => new ConsoleAssets() }],
})
export class ConsoleModule {}
