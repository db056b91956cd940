import { z } from 'zod';

/** Tenant every record belongs to; single-tenant installs use `default`. */
export const TenantId = z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, _ and -');
export type TenantId = z.infer<typeof TenantId>;

export const DEFAULT_TENANT: TenantId = 'default';

/** Agent ids are UUIDs minted by agent-api. */
export const AgentId = z.uuid();
export type AgentId = z.infer<typeof AgentId>;

/** Run ids are UUIDs minted by agent-api. */
export const RunId = z.uuid();
export type RunId = z.infer<typeof RunId>;

/** ISO-8601 UTC timestamp with milliseconds, as every record and event carries. */
export const Timestamp = z.iso.datetime({ offset: false });
export type Timestamp = z.infer<typeof Timestamp>;

/** Any JSON value: run inputs, outputs and agent config are opaque JSON. */
export const JsonValue = z.json();
export type JsonValue = z.infer<typeof JsonValue>;
