import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiError, ApiErrors, Public } from '@skreaver/http';
import type { FastifyReply } from 'fastify';

import { ConsoleAssets } from './console.assets';
import type { ConsoleAsset } from './console.assets';

const TEXT = { schema: { type: 'string' } };

/**
 * What the console may load and call: its own files and agent-api (same origin) only. No inline script or style,
 * no eval, no frames, no plug-ins; the token lives in the page (sessionStorage), so an injected script is what
 * this policy exists to stop.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The web console at `/console` (a single-page app over @skreaver/sdk); its files need no credentials. */
@ApiTags('docs')
@Controller('console')
export class ConsoleController {
  constructor(private readonly assets: ConsoleAssets) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'The web console' })
  @ApiOkResponse({ description: 'The console page', content: { 'text/html': TEXT } })
  @ApiErrors({ 404: 'The console files are not installed' })
  async page(@Res({ passthrough: true }) reply: FastifyReply): Promise<Buffer> {
    const page = await this.assets.page();
    if (!page) throw ApiError.notFound('The console page');
    // The page names the current module files: it is revalidated on every load, the modules are cached briefly.
    return send(reply, page, 'no-cache');
  }

  @Get('*')
  @Public()
  @ApiOperation({ summary: 'A console file: script, style sheet, or a module of the SDK under sdk/' })
  @ApiParam({ name: 'path', description: 'a file of the console, e.g. app.js or sdk/index.js', schema: { type: 'string' } })
  @ApiOkResponse({ description: 'A script or style sheet', content: { 'text/javascript': TEXT, 'text/css': TEXT } })
  @ApiErrors({ 404: 'Not one of the console files' })
  async asset(@Param('*') name: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<Buffer> {
    const asset = await this.assets.asset(name);
    if (!asset) throw ApiError.notFound(`Console file ${JSON.stringify(name)}`);
    return send(reply, asset, 'public, max-age=300');
  }
}

function send(reply: FastifyReply, asset: ConsoleAsset, cacheControl: string): Buffer {
  void reply
    .header('content-type', asset.contentType)
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', cacheControl);
  return asset.body;
}
