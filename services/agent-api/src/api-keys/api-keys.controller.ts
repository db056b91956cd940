import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { ApiKeyList, CreatedApiKey, Principal } from '@skreaver/contracts';
import { ApiErrors, RequestId, RequireRole } from '@skreaver/http';

import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { ApiKeyIdParamsDto, ApiKeyListDto, ApiKeyListQueryDto, CreateApiKeyRequestDto, CreatedApiKeyDto } from '../dtos';
import { ApiKeysService } from './api-keys.service';

@ApiTags('api-keys')
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @RequireRole('admin')
  @ApiOperation({ summary: 'Create an API key (shown once)' })
  @ApiCreatedResponse({ description: 'The key, with its secret `key` shown this once', type: CreatedApiKeyDto.Output })
  create(@CurrentPrincipal() principal: Principal, @Body() body: CreateApiKeyRequestDto, @RequestId() requestId: string): Promise<CreatedApiKey> {
    return this.keys.create(principal, body, requestId);
  }

  @Get()
  @RequireRole('admin')
  @ApiOperation({ summary: 'List the tenant\'s API keys' })
  @ApiOkResponse({ description: 'Keys, never their secrets', type: ApiKeyListDto.Output })
  async list(@CurrentPrincipal() principal: Principal, @Query() query: ApiKeyListQueryDto): Promise<ApiKeyList> {
    return { items: await this.keys.list(principal, query) };
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @RequireRole('admin')
  @ApiOperation({ summary: 'Revoke an API key and every token minted from it' })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiErrors({ 404: 'No such key in the caller\'s tenant' })
  revoke(@CurrentPrincipal() principal: Principal, @Param() params: ApiKeyIdParamsDto, @RequestId() requestId: string): Promise<void> {
    return this.keys.revoke(principal, params.id, requestId);
  }
}
