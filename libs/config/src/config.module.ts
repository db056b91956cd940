import { Global, Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';

/** Makes a service's parsed config injectable everywhere under `token` (config is one of the two global things). */
@Global()
@Module({})
export class ConfigModule {
  static register<T>(token: symbol, config: T): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: token, useValue: config }], exports: [token] };
  }
}
