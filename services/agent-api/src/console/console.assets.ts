import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** A file of the console, ready to send. */
export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
}

const TYPES: ReadonlyMap<string, string> = new Map([
  ['.html', 'text/html; charset=utf-8'],
  ['.js', 'text/javascript; charset=utf-8'],
  ['.css', 'text/css; charset=utf-8'],
]);

/** Names a request may ask for: plain file names, no path, no dot files. */
const FILE_NAME = /^[a-z0-9][a-z0-9-]*\.(?:html|js|css)$/;

/**
 * The web console's files: its own (services/agent-api/console: a page, a style sheet, ES modules) and the SDK's
 * ES module build (libs/sdk/dist/esm, what `npm run build` writes), served under `/console/sdk/`. The allow-list
 * is the files found in those two folders at the first request, so a request path never reaches the file system.
 */
export class ConsoleAssets {
  private listing?: Promise<Map<string, string>>;
  private readonly cache = new Map<string, Promise<ConsoleAsset>>();

  constructor(
    // From services/agent-api/{src,dist}/console: the repository's (or the image's /app) folders.
    private readonly consoleDir = join(__dirname, '..', '..', 'console'),
    private readonly sdkDir = join(__dirname, '..', '..', '..', '..', 'libs', 'sdk', 'dist', 'esm'),
  ) {}

  /** The console's page (every route of the single-page app answers it). */
  page(): Promise<ConsoleAsset | undefined> {
    return this.asset('index.html');
  }

  /** `name` of the console (`app.js`) or `sdk/<name>` of the SDK's ESM build; undefined for any other name. */
  async asset(name: string): Promise<ConsoleAsset | undefined> {
    const files = await this.files();
    const path = files.get(name);
    const contentType = TYPES.get(name.slice(name.lastIndexOf('.')));
    if (!path || !contentType) return undefined;
    let cached = this.cache.get(name);
    if (!cached) {
      cached = readFile(path).then((body) => ({ body, contentType }));
      cached.catch(() => this.cache.delete(name));
      this.cache.set(name, cached);
    }
    return cached;
  }

  private files(): Promise<Map<string, string>> {
    if (!this.listing) {
      this.listing = (async () => {
        const files = new Map<string, string>();
        for (const [prefix, dir] of [['', this.consoleDir], ['sdk/', this.sdkDir]] as const) {
          const names = await readdir(dir).catch(() => [] as string[]);
          for (const name of names) if (FILE_NAME.test(name)) files.set(`${prefix}${name}`, join(dir, name));
        }
        return files;
      })();
      // An empty listing (the SDK not built yet) is not kept: the next request looks again.
      void this.listing.then((files) => {
        if (![...files.keys()].some((name) => name.startsWith('sdk/'))) this.listing = undefined;
      });
    }
    return this.listing;
  }
}
