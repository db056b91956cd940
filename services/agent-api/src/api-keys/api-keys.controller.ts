import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiKeyIdParams, ApiKeyListQuery, CreateApiKeyRequest } from '@skreaver/contracts';
import type { ApiKeyList, CreatedApiKey, Principal } from '@skreaver/contracts';
import { ZodValidationPipe } from '@skreaver/http';

import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { ApiKeysService } from './api-keys.service';

@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  create(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodValidationPipe(CreateApiKeyRequest)) body: CreateApiKeyRequest,
  ): Promise<CreatedApiKey> {
    return this.keys.create(principal, body);
  }

  @Get()
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodValidationPipe(ApiKeyListQuery, 'query')) query: ApiKeyListQuery,
  ): Promise<ApiKeyList> {
    return { items: await this.keys.list(principal, query) };
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodValidationPipe(ApiKeyIdParams, 'path parameters')) params: ApiKeyIdParams,
  ): Promise<void> {
    return this.keys.revoke(principal, params.id);
  }
}
