import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiError, ApiErrors, Public } from '@skreaver/http';
import type { FastifyReply } from 'fastify';

import { ConsoleAssets } from './console.assets';
import type { ConsoleAsset } from './console.assets';
import { CONSOLE_SETTINGS } from './console-settings';
import type { ConsoleSettings } from './console-settings';

const TEXT = { schema: { type: 'string' } };

/** The web console at `/console` (a single-page app over @skreaver/sdk); its files need no credentials. */
@ApiTags('docs')
@Controller('console')
export class ConsoleController {
  constructor(
    private readonly assets: ConsoleAssets,
    @Inject(CONSOLE_SETTINGS) private readonly settings: ConsoleSettings,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'The web console' })
  @ApiOkResponse({ description: 'The console page', content: { 'text/html': TEXT } })
  @ApiErrors({ 404: 'The console is not built (`npm run build`)' })
  async page(@Res({ passthrough: true }) reply: FastifyReply): Promise<Buffer> {
    const page = await this.assets.page();
    if (!page) throw ApiError.notFound('The console page');
    // The page names the current bundle files: it is revalidated on every load.
    return this.send(reply, page);
  }

  @Get('config.json')
  @Public()
  @ApiOperation({ summary: 'The console\'s settings: where ws-gateway is (`gateway_url`, null for this origin)' })
  @ApiOkResponse({ description: 'The settings', content: { 'application/json': { schema: { type: 'object', properties: { gateway_url: { type: 'string', nullable: true } } } } } })
  config(@Res({ passthrough: true }) reply: FastifyReply): { gateway_url: string | null } {
    this.headers(reply).header('cache-control', 'no-cache');
    return { gateway_url: this.settings.gatewayOrigin ?? null };
  }

  @Get('*')
  @Public()
  @ApiOperation({ summary: 'A file of the console\'s build: its page, or a script or style sheet under assets/' })
  @ApiParam({ name: 'path', description: 'a file of the console, e.g. assets/index-B1x9.js', schema: { type: 'string' } })
  @ApiOkResponse({ description: 'A script or style sheet', content: { 'text/javascript': TEXT, 'text/css': TEXT } })
  @ApiErrors({ 404: 'Not one of the console files' })
  async asset(@Param('*') name: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<Buffer> {
    const asset = await this.assets.asset(name);
    if (!asset) throw ApiError.notFound(`Console file ${JSON.stringify(name)}`);
    return this.send(reply, asset);
  }

  private send(reply: FastifyReply, asset: ConsoleAsset): Buffer {
    void this.headers(reply)
      .header('content-type', asset.contentType)
      .header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    return asset.body;
  }

  private headers(reply: FastifyReply): FastifyReply {
    return reply
      .header('content-security-policy', this.settings.csp)
      .header('x-content-type-options', 'nosniff')
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'no-referrer');
  }
}
