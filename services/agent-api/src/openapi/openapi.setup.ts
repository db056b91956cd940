import type { INestApplication } from '@nestjs/common';

import { createOpenApiDocument } from './openapi-document';
import { OpenApiService } from './openapi.service';

/** Lets `GET /openapi.json` generate the document of `app` (on its first request). Call once the app is created. */
export function setUpOpenApi(app: INestApplication): void {
  app.get(OpenApiService).generateWith(() => createOpenApiDocument(app));
}
