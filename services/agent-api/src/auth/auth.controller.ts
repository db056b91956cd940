import { Body, Controller, HttpCode, HttpStatus, Post, Req } from '@nestjs/common';
import { RevokeRequest, TokenRequest } from '@skreaver/contracts';
import type { Principal, TokenResponse } from '@skreaver/contracts';
import { ZodValidationPipe } from '@skreaver/http';
import type { FastifyRequest } from 'fastify';

import { AuthService } from './auth.service';
import { CurrentPrincipal } from './current-principal.decorator';
import { Public } from './public.decorator';

// Both bodies are optional: the API key usually travels in a header, and revoke defaults to the caller's token.
const OptionalTokenRequest = TokenRequest.optional();
const OptionalRevokeRequest = RevokeRequest.optional();

@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /** The API key is the credential here, so the guard lets the request through and the service checks the key. */
  @Public()
  @Post('token')
  @HttpCode(HttpStatus.OK)
  token(
    @Req() request: FastifyRequest,
    @Body(new ZodValidationPipe(OptionalTokenRequest)) body: TokenRequest | undefined,
  ): Promise<TokenResponse> {
    return this.auth.issueToken(request.headers, body);
  }

  @Post('revoke')
  @HttpCode(HttpStatus.NO_CONTENT)
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodValidationPipe(OptionalRevokeRequest)) body: RevokeRequest | undefined,
  ): Promise<void> {
    return this.auth.revoke(principal, body?.token);
  }

  @Post('revoke-all')
  @HttpCode(HttpStatus.NO_CONTENT)
  revokeAll(@CurrentPrincipal() principal: Principal): Promise<void> {
    return this.auth.revokeAll(principal);
  }
}
