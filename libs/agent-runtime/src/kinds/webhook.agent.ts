import { createHmac } from 'node:crypto';

import { JsonValue } from '@skreaver/contracts';
import { backoffDelay, sleep } from '@skreaver/util';
import { z } from 'zod';

import { defineAgent } from '../agent-definition';
import { AgentFailure } from '../agent-errors';
import { HttpError } from '../network/guarded-http.client';

/** Header carrying the Unix time (seconds) the delivery was signed at. */
export const WEBHOOK_TIMESTAMP_HEADER = 'x-skreaver-timestamp';
/** Header carrying `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`. */
export const WEBHOOK_SIGNATURE_HEADER = 'x-skreaver-signature';

const MAX_REPLY_BYTES = 8 * 1024 * 1024;

/** The signature header's value for `body` signed at `timestamp` with `secret` (receivers recompute and compare). */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * POSTs the input (as JSON) to a URL, signed with the agent's secret; the JSON reply is the output. 5xx answers,
 * 408, 429 and network errors are retried with exponential backoff; other 4xx answers and redirects fail the run for
 * good. The URL is subject to the agent's network policy like any outbound call.
 */
export const webhookAgent = defineAgent({
  kind: 'webhook',
  description: 'POSTs the input to a URL signed with HMAC-SHA256 (X-Skreaver-Signature) and returns the JSON reply.',
  configSchema: z.strictObject({
    url: z.url({ protocol: /^https?$/ }),
    /** HMAC key shared with the receiver. */
    secret: z.string().min(16).max(1_024),
    timeout_ms: z.number().int().min(100).max(300_000).default(10_000),
    /** Deliveries after the first one, on retryable failures. */
    max_retries: z.number().int().min(0).max(10).default(3),
    /** First retry delay, doubling for each further one. */
    retry_backoff_ms: z.number().int().min(0).max(60_000).default(250),
  }),
  async run(input, context) {
    const { config } = context;
    const body = JSON.stringify(input);
    let lastProblem = '';
    for (let delivery = 1; delivery <= config.max_retries + 1; delivery += 1) {
      if (delivery > 1) await sleep(backoffDelay(delivery - 2, config.retry_backoff_ms, Infinity), context.signal);
      await context.emit({ type: 'step', name: 'webhook', detail: { delivery } });
      const timestamp = String(Math.floor(Date.now() / 1000));
      let response;
      try {
        response = await context.http.request(
          {
            url: config.url,
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              accept: 'application/json',
              'user-agent': 'skreaver-webhook/1',
              [WEBHOOK_TIMESTAMP_HEADER]: timestamp,
              [WEBHOOK_SIGNATURE_HEADER]: webhookSignature(config.secret, timestamp, body),
              'x-skreaver-run-id': context.runId,
              'x-skreaver-agent-id': context.agentId,
              'x-skreaver-attempt': String(context.attempt),
              // The same run may be delivered more than once (retries, a crashed coordinator): receivers dedupe on it.
              'idempotency-key': context.runId,
            },
            body,
            timeoutMs: config.timeout_ms,
            maxResponseBytes: MAX_REPLY_BYTES,
            followRedirects: false,
          },
          context.signal,
        );
      } catch (error) {
        if (!(error instanceof HttpError) || error.code === 'aborted') throw error;
        if (!error.retryable) throw new AgentFailure('webhook_refused', error.message, true);
        lastProblem = error.message;
        continue;
      }
      const text = response.body.toString('utf8');
      if (response.status >= 500 || response.status === 408 || response.status === 429) {
        lastProblem = `answered ${response.status}`;
        continue;
      }
      if (response.status < 200 || response.status >= 300) {
        throw new AgentFailure('webhook_rejected', `the webhook answered ${response.status}: ${text.slice(0, 300)}`, true);
      }
      if (text.trim() === '') return null;
      try {
        return JsonValue.parse(JSON.parse(text));
      } catch {
        throw new AgentFailure('webhook_invalid_reply', `the webhook's reply is not JSON: ${text.slice(0, 200)}`, true);
      }
    }
    throw new AgentFailure('webhook_unavailable', `no delivery succeeded after ${config.max_retries + 1} tries (last: ${lastProblem})`, false);
  },
});
