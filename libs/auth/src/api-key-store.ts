import type { ApiKey } from '@skreaver/contracts';

/** An API key as stored: the listing fields plus the secret's hash and who created it. */
export interface StoredApiKey extends ApiKey {
  secret_hash: string;
  created_by: string;
}

/** Where the authenticator looks API keys up; the persistence layer's `ApiKeyRepository` implements it. */
export interface ApiKeyStore {
  /** The key with this prefix, whatever its tenant or state, or null. */
  findByPrefix(prefix: string): Promise<StoredApiKey | null>;
  /** Records that the key was used at `at` (ISO timestamp). */
  touch(id: string, at: string): Promise<void>;
}
