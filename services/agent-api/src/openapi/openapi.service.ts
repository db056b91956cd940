import { Injectable } from '@nestjs/common';
import { JsonLogger } from '@skreaver/observability';

import { buildOpenApiDocument } from './openapi-document';
import type { OpenApiDocument } from './openapi-document';
import { RouteCatalog } from './route-catalog';

/** The OpenAPI document of the routes this app serves, generated once, on first request. */
@Injectable()
export class OpenApiService {
  private built?: OpenApiDocument;

  constructor(
    private readonly routes: RouteCatalog,
    private readonly logger: JsonLogger,
  ) {}

  document(): OpenApiDocument {
    if (this.built) return this.built;
    const { document, undocumented } = buildOpenApiDocument(this.routes.list());
    if (undocumented.length) {
      this.logger.write('warn', 'Routes missing from the OpenAPI table are left out of /openapi.json', { routes: undocumented }, 'openapi');
    }
    this.built = document;
    return document;
  }
}
