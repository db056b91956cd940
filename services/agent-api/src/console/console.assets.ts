import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** A file of the console, ready to send. */
export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
  /** Vite names bundle files after their content hash (`assets/index-B1x9.js`): a new build means new names. */
  immutable: boolean;
}

const TYPES: ReadonlyMap<string, string> = new Map([
  ['.html', 'text/html; charset=utf-8'],
  ['.js', 'text/javascript; charset=utf-8'],
  ['.css', 'text/css; charset=utf-8'],
  ['.svg', 'image/svg+xml'],
  ['.png', 'image/png'],
  ['.ico', 'image/x-icon'],
  ['.woff2', 'font/woff2'],
]);

/** Names a request may ask for: plain file names (no dot files, no source maps), at the top or under `assets/`. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*\.(?:html|js|css|svg|png|ico|woff2)$/;
const SUBFOLDERS = ['assets'];

/**
 * The web console's files: the static build of services/console (React + Vite, written by `npm run build` to
 * services/console/dist: `index.html` and the hashed bundle under `assets/`). The allow-list is the files found in
 * that folder at the first request, so a request path never reaches the file system.
 */
export class ConsoleAssets {
  private listing?: Promise<Map<string, string>>;
  private readonly cache = new Map<string, Promise<ConsoleAsset>>();

  constructor(
    // From services/agent-api/{src,dist}/console: the repository's (or the image's /app) services/console/dist.
    private readonly dir = join(__dirname, '..', '..', '..', 'console', 'dist'),
  ) {}

  /** The console's page (every route of the single-page app answers it). */
  page(): Promise<ConsoleAsset | undefined> {
    return this.asset('index.html');
  }

  /** `name` of the console's build (`index.html`, `assets/index-B1x9.js`); undefined for any other name. */
  async asset(name: string): Promise<ConsoleAsset | undefined> {
    const files = await this.files();
    const path = files.get(name);
    const contentType = TYPES.get(name.slice(name.lastIndexOf('.')));
    if (!path || !contentType) return undefined;
    let cached = this.cache.get(name);
    if (!cached) {
      cached = readFile(path).then((body) => ({ body, contentType, immutable: name.startsWith('assets/') }));
      cached.catch(() => this.cache.delete(name));
      this.cache.set(name, cached);
    }
    return cached;
  }

  private files(): Promise<Map<string, string>> {
    if (!this.listing) {
      this.listing = (async () => {
        const files = new Map<string, string>();
        for (const prefix of ['', ...SUBFOLDERS.map((folder) => `${folder}/`)]) {
          const dir = join(this.dir, prefix);
          const names = await readdir(dir).catch(() => [] as string[]);
          for (const name of names) if (FILE_NAME.test(name)) files.set(`${prefix}${name}`, join(dir, name));
        }
        return files;
      })();
      // An empty listing (the console not built yet) is not kept: the next request looks again.
      void this.listing.then((files) => {
        if (!files.has('index.html')) this.listing = undefined;
      });
    }
    return this.listing;
  }
}
