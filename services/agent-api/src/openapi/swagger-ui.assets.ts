import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A file of the docs, ready to send. */
export interface DocsAsset {
  body: Buffer;
  contentType: string;
}

// The files the page below loads, served from the installed swagger-ui-dist package (this machine has no CDN).
// An allow-list, so a request path never reaches the file system.
// A Map, not an object literal: a name like `__proto__` or `constructor` must not find anything.
const PACKAGE_FILES: ReadonlyMap<string, string> = new Map([
  ['swagger-ui.css', 'text/css; charset=utf-8'],
  ['index.css', 'text/css; charset=utf-8'],
  ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
  ['swagger-ui-standalone-preset.js', 'text/javascript; charset=utf-8'],
  ['favicon-32x32.png', 'image/png'],
  ['favicon-16x16.png', 'image/png'],
]);

// Our own initializer instead of the package's (which points at the petstore): a file rather than an inline
// script, so a strict Content-Security-Policy in front of the service still lets the page run.
const INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
  });
};
`;

// The package's index.html loads its files relatively, which breaks at /docs (no trailing slash): absolute paths here.
const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Skreaver agent-api</title>
    <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css" />
    <link rel="stylesheet" type="text/css" href="/docs/index.css" />
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32" />
    <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="/docs/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
`;

/** Swagger UI's files: the page, our initializer, and a few files of the swagger-ui-dist package (read once, kept). */
export class SwaggerUiAssets {
  private readonly directory = dirname(require.resolve('swagger-ui-dist/package.json'));
  private readonly cache = new Map<string, Promise<DocsAsset>>();

  /** The Swagger UI page. */
  page(): DocsAsset {
    return { body: Buffer.from(PAGE), contentType: 'text/html; charset=utf-8' };
  }

  /** A file under `/docs/`, or undefined for any name not on the list. */
  async asset(name: string): Promise<DocsAsset | undefined> {
    if (name === 'swagger-initializer.js') return { body: Buffer.from(INITIALIZER), contentType: 'text/javascript; charset=utf-8' };
    const contentType = PACKAGE_FILES.get(name);
    if (!contentType) return undefined;
    let cached = this.cache.get(name);
    if (!cached) {
      cached = readFile(join(this.directory, name)).then((body) => ({ body, contentType }));
      // A failed read is not cached: the next request tries again.
      cached.catch(() => this.cache.delete(name));
      this.cache.set(name, cached);
    }
    return cached;
  }
}
