import { Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { TokenDenylist } from '@skreaver/auth';
import { RedisConnections } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';

import { LiveSessions } from '../live/live-sessions.service';

/**
 * Closes the sockets of a credential the moment it is revoked (a token, an API key with the tokens minted from it,
 * a tenant's tokens), instead of letting them receive events until the token expires. A revocation announced while
 * this replica is not subscribed (Redis down) is missed: such sockets live until their credential expires or they
 * reconnect, when the check at connect refuses them.
 */
@Injectable()
export class AuthRevocationsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private stopListening: (() => Promise<void>) | undefined;

  constructor(
    private readonly denylist: TokenDenylist,
    private readonly sessions: LiveSessions,
    private readonly connections: RedisConnections,
    private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.stopListening = await this.denylist.listen(this.connections.blocking('auth-revocations'), (revocation) => {
      const closed = this.sessions.closeRevoked(revocation);
      if (closed > 0) this.logger.write('info', 'Closed connections of a revoked credential', { kind: revocation.kind, tenant_id: revocation.tenant_id, closed }, 'ws');
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stopListening?.();
  }
}
