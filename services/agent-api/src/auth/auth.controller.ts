import { Body, Controller, HttpCode, HttpStatus, Post, Req } from '@nestjs/common';
import { ApiBody, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal, TokenResponse } from '@skreaver/contracts';
import { ApiErrors, Public, RequestId, RequireRole, requestContextOf } from '@skreaver/http';
import type { FastifyRequest } from 'fastify';

import { RevokeRequestDto, TokenRequestDto, TokenResponseDto } from '../dtos';
import { AuthService } from './auth.service';
import { CurrentPrincipal } from './current-principal.decorator';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /** The API key is the credential here, so the guard lets the request through and the service checks the key. */
  @Post('token')
  @HttpCode(HttpStatus.OK)
  @Public()
  @ApiOperation({
    summary: 'Exchange an API key for an access token',
    description: 'The key goes in `Authorization: Bearer sk_…`, `X-API-Key`, or the body as `{"api_key"}`. Tokens cannot be exchanged for tokens.',
    security: [{ bearerAuth: [] }, { apiKeyHeader: [] }, {}],
  })
  @ApiBody({ type: TokenRequestDto, required: false })
  @ApiOkResponse({ description: 'A signed HS256 JWT', type: TokenResponseDto.Output })
  @ApiErrors({ 401: '`unauthorized`: missing, malformed, unknown, revoked or expired API key' })
  token(@Req() request: FastifyRequest, @Body() body: TokenRequestDto): Promise<TokenResponse> {
    return this.auth.issueToken(request.headers, body, requestContextOf(request));
  }

  // Logging out only ever removes access, so every role may revoke the token it calls with; AuthService lets only
  // admins revoke another token (of their tenant).
  @Post('revoke')
  @HttpCode(HttpStatus.NO_CONTENT)
  @RequireRole('viewer')
  @ApiOperation({ summary: 'Revoke the calling token (any role), or as an admin any token of the same tenant' })
  @ApiBody({ type: RevokeRequestDto, required: false })
  @ApiNoContentResponse({ description: 'Revoked (or already expired)' })
  revoke(@CurrentPrincipal() principal: Principal, @Body() body: RevokeRequestDto, @RequestId() requestId: string): Promise<void> {
    return this.auth.revoke(principal, body?.token, requestId);
  }

  @Post('revoke-all')
  @HttpCode(HttpStatus.NO_CONTENT)
  @RequireRole('admin')
  @ApiOperation({ summary: 'Revoke every token of the tenant issued until now' })
  @ApiNoContentResponse({ description: 'Every earlier token of the tenant now answers 401' })
  revokeAll(@CurrentPrincipal() principal: Principal, @RequestId() requestId: string): Promise<void> {
    return this.auth.revokeAll(principal, requestId);
  }
}
