import { Module } from '@nestjs/common';

import { OpenApiController } from './openapi.controller';
import { OpenApiService } from './openapi.service';
import { SwaggerUiAssets } from './swagger-ui.assets';

/** The generated OpenAPI document (`GET /openapi.json`) and Swagger UI (`GET /docs`). */
@Module({
  controllers: [OpenApiController],
  providers: [OpenApiService, { provide: SwaggerUiAssets, useFactory: () => new SwaggerUiAssets() }],
})
export class OpenApiModule {}
