import { Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { MeshRunInput } from '@skreaver/contracts';
import type { Run } from '@skreaver/contracts';
import { MeshStore } from '@skreaver/messaging';
import { nowIso } from '@skreaver/util';

import { RunExecutor } from '@skreaver/runs';
import type { RunLifecycleHooks } from '@skreaver/runs';
import { AgentPresenceService } from './agent-presence.service';

/**
 * The mesh's part in runs executing here: agents are present while their runs start and finish, and a run made
 * from a request (its input carries `reply_to`) sends its outcome to the requester when it finishes.
 */
@Injectable()
export class MeshHooksService implements RunLifecycleHooks, OnModuleInit {
  constructor(
    private readonly execution: RunExecutor,
    private readonly store: MeshStore,
    private readonly presence: AgentPresenceService,
  ) {}

  onModuleInit(): void {
    this.execution.addHooks(this);
  }

  async started(run: Run): Promise<void> {
    await this.presence.touch(run.tenant_id, [run.agent_id]);
  }

  async finished(run: Run): Promise<void> {
    await this.presence.touch(run.tenant_id, [run.agent_id]);
    if (run.source !== 'mesh') return;
    const input = MeshRunInput.safeParse(run.input);
    const replyTo = input.success ? input.data.mesh.reply_to : undefined;
    if (!input.success || replyTo === undefined) return;
    if (run.status !== 'completed' && run.status !== 'failed' && run.status !== 'cancelled') return;
    await this.store.sendReply(replyTo, {
      ...(input.data.mesh.correlation_id !== undefined ? { correlation_id: input.data.mesh.correlation_id } : {}),
      message_id: input.data.mesh.message_id,
      from: run.agent_id,
      run_id: run.id,
      status: run.status,
      output: run.output,
      error: run.error,
      ts: nowIso(),
    });
  }
}
