import { closeSync, writeSync } from 'node:fs';

import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { JsonLogger } from '@skreaver/observability';

import { AGENT_API_CONFIG } from '../config';
import type { AgentApiConfig } from '../config';
import { ApiKeysService } from './api-keys.service';

/**
 * At start: stores `SKREAVER_ADMIN_API_KEY` if it is missing, or with `SKREAVER_GENERATE_ADMIN_KEY=true` and no
 * usable admin key, mints one and prints it once. The key goes to stderr in a banner (or, with
 * `SKREAVER_ADMIN_KEY_FD`, to the launcher that opened that descriptor: `npm start` shows it in its own banner),
 * never through the logger: log lines are shipped and kept, and a secret in them is a leaked secret.
 */
@Injectable()
export class AdminKeyBootstrap implements OnApplicationBootstrap {
  constructor(
    private readonly keys: ApiKeysService,
    @Inject(AGENT_API_CONFIG) private readonly config: AgentApiConfig,
    private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const fd = this.config.SKREAVER_ADMIN_KEY_FD;
    try {
      await this.bootstrap(fd);
    } finally {
      // Closed whether or not a key was written: the launcher reads to the end and knows there is nothing to show.
      if (fd !== undefined) closeSync(fd);
    }
  }

  private async bootstrap(fd: number | undefined): Promise<void> {
    if (this.config.SKREAVER_ADMIN_API_KEY !== undefined) {
      const outcome = await this.keys.ensureBootstrapKey(this.config.SKREAVER_ADMIN_API_KEY);
      this.logger.write('info', 'Bootstrap admin key checked', { outcome }, 'auth');
      return;
    }
    if (!this.config.SKREAVER_GENERATE_ADMIN_KEY) return;
    const created = await this.keys.generateAdminKeyIfNone();
    if (!created) return;
    if (fd !== undefined) {
      writeSync(fd, `${created.key}\n`);
      this.logger.write('info', 'Generated an admin API key; handed to the launcher', { prefix: created.prefix }, 'auth');
      return;
    }
    this.logger.write('info', 'Generated an admin API key; it was printed once on stderr', { prefix: created.prefix }, 'auth');
    process.stderr.write(adminKeyBanner(created.key, this.config.PORT));
  }
}

function adminKeyBanner(key: string, port: number): string {
  const rule = '='.repeat(100);
  return [
    '',
    rule,
    ' Skreaver generated an admin API key (tenant "default"). It is shown ONLY THIS ONCE; store it now:',
    '',
    `   ${key}`,
    '',
    ' Exchange it for an access token:',
    `   curl -s -X POST localhost:${port}/auth/token -H "Authorization: Bearer ${key}"`,
    ' To choose the key yourself, set SKREAVER_ADMIN_API_KEY instead.',
    rule,
    '',
    '',
  ].join('\n');
}
