import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

import { CliError, EXIT } from './exit-codes';

export interface Profile {
  url: string;
  key: string;
}

export interface ConfigFile {
  current: string;
  profiles: Record<string, Profile>;
}

/** `$SKREAVER_CONFIG`, or `~/.config/skreaver/config.json` (`$XDG_CONFIG_HOME` honoured). */
export function configPath(env: NodeJS.ProcessEnv): string {
  if (env.SKREAVER_CONFIG) return env.SKREAVER_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'skreaver', 'config.json');
}

export async function readConfig(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { current: 'default', profiles: {} };
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<ConfigFile>;
    return { current: parsed.current ?? 'default', profiles: parsed.profiles ?? {} };
  } catch {
    throw new CliError(`${path} is not JSON: fix or delete it, then run \`skreaver login\` again`, EXIT.usage);
  }
}

/** Writes the file readable by its owner only (0600; its folder 0700), atomically. */
export async function writeConfig(path: string, config: ConfigFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

/**
 * The API URL and key to use: `--url`/`--key`, then `SKREAVER_API_URL`/`SKREAVER_API_KEY`, then the profile
 * (`--profile`, `SKREAVER_PROFILE`, or the file's current one).
 */
export async function resolveTarget(
  flags: { url?: string; key?: string; profile?: string },
  env: NodeJS.ProcessEnv,
): Promise<{ url: string; key: string | undefined }> {
  const config = await readConfig(configPath(env));
  const name = flags.profile ?? env.SKREAVER_PROFILE ?? config.current;
  const profile = config.profiles[name];
  if (flags.profile && !profile) throw new CliError(`no profile "${flags.profile}" in ${configPath(env)}: run \`skreaver login --profile ${flags.profile}\``, EXIT.usage);
  const url = flags.url ?? env.SKREAVER_API_URL ?? profile?.url;
  const key = flags.key ?? env.SKREAVER_API_KEY ?? profile?.key;
  if (!url) throw new CliError('no API URL: run `skreaver login --url <url> --key <key>` or set SKREAVER_API_URL', EXIT.usage);
  return { url, key: key || undefined };
}
