import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PostMeshMessageRequest } from '@skreaver/contracts';
import type { MeshDeadLetterList, MeshPresenceList, PostMeshMessageResponse, Principal } from '@skreaver/contracts';
import { ApiErrors, RequireRole, ZodValidationPipe } from '@skreaver/http';
import type { FastifyReply } from 'fastify';

import { CurrentPrincipal } from '../auth/current-principal.decorator';
import {
  MeshDeadLetterListDto,
  MeshDeadLetterParamsDto,
  MeshDeadLetterQueryDto,
  MeshPresenceListDto,
  PostMeshMessageRequestDto,
  PostMeshMessageResponseDto,
} from '../dtos';
import { MeshService } from './mesh.service';

const MESH_DISABLED = { 503: '`mesh_disabled` in direct mode (`SKREAVER_MESH_ENABLED=false`), or a dependency is down' };
const NO_DEAD_LETTER = { 404: 'No such dead letter in the caller\'s tenant', ...MESH_DISABLED };

/** The mesh over HTTP; every route answers 503 `mesh_disabled` in direct mode. */
@ApiTags('mesh')
@Controller('mesh')
export class MeshController {
  constructor(private readonly mesh: MeshService) {}

  /** 202 with the message id; with `wait_seconds`, 200 with the target's reply (504 `mesh_timeout` without one). */
  @Post('messages')
  @RequireRole('operator')
  @ApiOperation({
    summary: 'Send a message to an agent, a topic, or every agent',
    description: 'Exactly one of `to`, `topic` or `broadcast: true`. With `wait_seconds` (unicast only), waits for the reply.',
  })
  @ApiOkResponse({ description: 'The reply arrived within `wait_seconds`', type: PostMeshMessageResponseDto.Output })
  @ApiAcceptedResponse({ description: 'Accepted for delivery', type: PostMeshMessageResponseDto.Output })
  @ApiErrors({
    404: 'No such agent to send to',
    429: '`mesh_backpressure`: the recipient\'s inbox is full; or `rate_limited`',
    504: '`mesh_timeout`: no reply within `wait_seconds`',
    ...MESH_DISABLED,
  })
  @ApiBody({ type: PostMeshMessageRequestDto })
  async send(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodValidationPipe(PostMeshMessageRequest)) body: PostMeshMessageRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PostMeshMessageResponse> {
    this.mesh.requireEnabled();
    const result = await this.mesh.send(principal, body);
    void reply.status(result.status === 'replied' ? HttpStatus.OK : HttpStatus.ACCEPTED);
    return result;
  }

  @Get('presence')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'Coordinators and agents seen on the mesh recently, with their load' })
  @ApiOkResponse({ description: 'Live participants', type: MeshPresenceListDto.Output })
  @ApiErrors(MESH_DISABLED)
  async presence(@CurrentPrincipal() principal: Principal): Promise<MeshPresenceList> {
    this.mesh.requireEnabled();
    return { items: await this.mesh.presence(principal.tenant_id) };
  }

  @Get('dead-letters')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'Mesh messages the coordinators gave up on' })
  @ApiOkResponse({ description: 'Dead letters of the tenant, newest first', type: MeshDeadLetterListDto.Output })
  @ApiErrors(MESH_DISABLED)
  async deadLetters(@CurrentPrincipal() principal: Principal, @Query() query: MeshDeadLetterQueryDto): Promise<MeshDeadLetterList> {
    this.mesh.requireEnabled();
    return { items: await this.mesh.deadLetters(principal.tenant_id, query.limit) };
  }

  @Post('dead-letters/:id/redrive')
  @HttpCode(HttpStatus.ACCEPTED)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Send a dead-lettered mesh message again' })
  @ApiAcceptedResponse({ description: 'Sent again', type: PostMeshMessageResponseDto.Output })
  @ApiErrors(NO_DEAD_LETTER)
  redrive(@CurrentPrincipal() principal: Principal, @Param() params: MeshDeadLetterParamsDto): Promise<PostMeshMessageResponse> {
    this.mesh.requireEnabled();
    return this.mesh.redrive(principal.tenant_id, params.id);
  }

  @Delete('dead-letters/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Discard a dead-lettered mesh message' })
  @ApiNoContentResponse({ description: 'Discarded' })
  @ApiErrors(NO_DEAD_LETTER)
  async remove(@CurrentPrincipal() principal: Principal, @Param() params: MeshDeadLetterParamsDto): Promise<void> {
    this.mesh.requireEnabled();
    await this.mesh.remove(principal.tenant_id, params.id);
  }
}
