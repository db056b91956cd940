import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';
import { ApiError, ApiErrors, Public } from '@skreaver/http';
import type { FastifyReply } from 'fastify';

import { OpenApiService } from './openapi.service';
import { SwaggerUiAssets } from './swagger-ui.assets';
import type { DocsAsset } from './swagger-ui.assets';

const TEXT = { schema: { type: 'string' } };

/** `/openapi.json` and Swagger UI at `/docs`, served from the bundled swagger-ui-dist (no CDN); no credentials. */
@ApiTags('docs')
@Controller()
export class OpenApiController {
  constructor(
    private readonly openApi: OpenApiService,
    private readonly assets: SwaggerUiAssets,
  ) {}

  @Get('openapi.json')
  @Public()
  @ApiOperation({ summary: 'This document' })
  @ApiOkResponse({ description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } })
  document(): OpenAPIObject {
    return this.openApi.document();
  }

  @Get('docs')
  @Public()
  @ApiOperation({ summary: 'Swagger UI for this document' })
  @ApiOkResponse({ description: 'The Swagger UI page', content: { 'text/html': TEXT } })
  page(@Res({ passthrough: true }) reply: FastifyReply): Buffer {
    return send(reply, this.assets.page());
  }

  @Get('docs/*')
  @Public()
  @ApiOperation({ summary: 'A Swagger UI asset' })
  @ApiParam({ name: 'path', description: 'a file of the bundled Swagger UI, e.g. swagger-ui.css', schema: { type: 'string' } })
  @ApiOkResponse({ description: 'A script, style sheet or icon', content: { 'text/javascript': TEXT, 'text/css': TEXT, 'image/png': TEXT } })
  @ApiErrors({ 404: 'Not one of the bundled files' })
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
