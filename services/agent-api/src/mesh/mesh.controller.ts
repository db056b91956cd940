import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import { MeshDeadLetterParams, MeshDeadLetterQuery, PostMeshMessageRequest } from '@skreaver/contracts';
import type { MeshDeadLetterList, MeshPresenceList, PostMeshMessageResponse, Principal } from '@skreaver/contracts';
import { ZodValidationPipe } from '@skreaver/http';
import type { FastifyReply } from 'fastify';

import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { MeshService } from './mesh.service';

/** The mesh over HTTP; every route answers 503 `mesh_disabled` in direct mode. */
@Controller('mesh')
export class MeshController {
  constructor(private readonly mesh: MeshService) {}

  /** 202 with the message id; with `wait_seconds`, 200 with the target's reply (504 `mesh_timeout` without one). */
  @Post('messages')
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
  async presence(@CurrentPrincipal() principal: Principal): Promise<MeshPresenceList> {
    this.mesh.requireEnabled();
    return { items: await this.mesh.presence(principal.tenant_id) };
  }

  @Get('dead-letters')
  async deadLetters(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodValidationPipe(MeshDeadLetterQuery, 'query')) query: MeshDeadLetterQuery,
  ): Promise<MeshDeadLetterList> {
    this.mesh.requireEnabled();
    return { items: await this.mesh.deadLetters(principal.tenant_id, query.limit) };
  }

  @Post('dead-letters/:id/redrive')
  @HttpCode(HttpStatus.ACCEPTED)
  redrive(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodValidationPipe(MeshDeadLetterParams, 'path parameters')) params: MeshDeadLetterParams,
  ): Promise<PostMeshMessageResponse> {
    this.mesh.requireEnabled();
    return this.mesh.redrive(principal.tenant_id, params.id);
  }

  @Delete('dead-letters/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  async remove(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodValidationPipe(MeshDeadLetterParams, 'path parameters')) params: MeshDeadLetterParams,
  ): Promise<void> {
    this.mesh.requireEnabled();
    await this.mesh.remove(principal.tenant_id, params.id);
  }
}
