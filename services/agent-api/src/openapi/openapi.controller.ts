import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiError } from '@skreaver/http';
import type { FastifyReply } from 'fastify';

import type { OpenApiDocument } from './openapi-document';
import { OpenApiService } from './openapi.service';
import { SwaggerUiAssets } from './swagger-ui.assets';
import type { DocsAsset } from './swagger-ui.assets';

/** `/openapi.json` and Swagger UI at `/docs`; public by the access policy's path allow-list. */
@Controller()
export class OpenApiController {
  constructor(
    private readonly openApi: OpenApiService,
    private readonly assets: SwaggerUiAssets,
  ) {}

  @Get('openapi.json')
  document(): OpenApiDocument {
    return this.openApi.document();
  }

  @Get('docs')
  page(@Res({ passthrough: true }) reply: FastifyReply): Buffer {
    return send(reply, this.assets.page());
  }

  @Get('docs/*')
  async asset(@Param('*') name: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<Buffer> {
    const asset = await this.assets.asset(name);
    if (!asset) throw ApiError.notFound(`Docs file ${JSON.stringify(name)}`);
    return send(reply, asset);
  }
}

function send(reply: FastifyReply, asset: DocsAsset): Buffer {
  void reply.header('content-type', asset.contentType).header('x-content-type-options', 'nosniff').header('cache-control', 'public, max-age=3600');
  return asset.body;
}
