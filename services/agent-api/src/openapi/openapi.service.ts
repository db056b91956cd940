import { Injectable } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';

/** The OpenAPI document `GET /openapi.json` serves, generated once, on first request, by the factory main.ts gives it. */
@Injectable()
export class OpenApiService {
  private factory?: () => OpenAPIObject;
  private built?: OpenAPIObject;

  /** Sets how to generate the document (it needs the whole app, which no provider can inject). */
  generateWith(factory: () => OpenAPIObject): void {
    this.factory = factory;
    this.built = undefined;
  }

  document(): OpenAPIObject {
    if (!this.factory) throw new Error('OpenApiService.generateWith was not called (see setUpOpenApi)');
    this.built ??= this.factory();
    return this.built;
  }
}
