import type { JsonValue } from '@skreaver/contracts';

/** A path that does not lead anywhere in the value (or is malformed). */
export class JsonPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonPathError';
  }
}

/** One step into a value: an object key or an array index. Own properties only, so `__proto__` leads nowhere. */
function child(value: JsonValue, segment: string, shown: string): JsonValue {
  if (Array.isArray(value)) {
    if (!/^(0|[1-9]\d*)$/.test(segment)) throw new JsonPathError(`${shown}: "${segment}" is not an index of an array`);
    const item = value[Number(segment)];
    if (item === undefined) throw new JsonPathError(`${shown}: index ${segment} is past the end (length ${value.length})`);
    return item;
  }
  if (value !== null && typeof value === 'object') {
    if (!Object.hasOwn(value, segment)) throw new JsonPathError(`${shown}: no key "${segment}"`);
    return value[segment] as JsonValue;
  }
  throw new JsonPathError(`${shown}: cannot look up "${segment}" in ${value === null ? 'null' : typeof value}`);
}

/** The value at an RFC 6901 JSON Pointer (`/items/0/name`, `~1` for `/`, `~0` for `~`; `""` is the whole value). */
export function getByPointer(value: JsonValue, pointer: string): JsonValue {
  if (pointer === '') return value;
  if (!pointer.startsWith('/')) throw new JsonPathError(`a JSON pointer starts with "/": ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((current, segment) => child(current, segment, pointer), value);
}

/** Segments of a simple path: `a.b[0].c`, `a.b.0.c` and `[2]` all work; an empty path is the whole value. */
export function pathSegments(path: string): string[] {
  const segments: string[] = [];
  const token = /([^.[\]]+)|\[(\d+)\]|(\.)/y;
  let expectSegment = true;
  let position = 0;
  while (position < path.length) {
    token.lastIndex = position;
    const match = token.exec(path);
    if (!match) throw new JsonPathError(`malformed path "${path}" at position ${position}`);
    position = token.lastIndex;
    if (match[3]) {
      if (expectSegment) throw new JsonPathError(`empty segment in path "${path}"`);
      expectSegment = true;
      continue;
    }
    segments.push(match[1] ?? match[2] ?? '');
    expectSegment = false;
  }
  if (path.length > 0 && expectSegment) throw new JsonPathError(`path "${path}" ends with a dot`);
  return segments;
}

/** The value at a simple dotted path (see `pathSegments`). */
export function getByPath(value: JsonValue, path: string): JsonValue {
  return pathSegments(path).reduce((current, segment) => child(current, segment, path), value);
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const WHOLE_PLACEHOLDER = /^\{\{\s*([^{}]*?)\s*\}\}$/;

/** Which placeholders `renderTemplate` fills. */
export interface TemplateOptions {
  /**
   * Only placeholders whose path starts with one of these names are filled; others are left as they are (so a
   * template meant for a tool, like the text tool's `{{name}}`, passes through). Default: all.
   */
  roots?: readonly string[];
}

/**
 * Fills `{{path}}` placeholders from `scope` (paths as in `getByPath`, e.g. `steps.0.result.field`). A string that
 * is exactly one placeholder becomes the referenced value itself (a number stays a number); placeholders inside a
 * longer string are replaced by the value's text (strings as they are, anything else as JSON). Objects and arrays are
 * filled recursively.
 * @throws JsonPathError when a placeholder leads nowhere.
 */
export function renderTemplate(template: JsonValue, scope: JsonValue, options: TemplateOptions = {}): JsonValue {
  if (typeof template === 'string') {
    const whole = WHOLE_PLACEHOLDER.exec(template);
    if (whole && fills(whole[1] ?? '', options)) return getByPath(scope, whole[1] ?? '');
    return interpolate(template, scope, options);
  }
  if (Array.isArray(template)) return template.map((item) => renderTemplate(item, scope, options));
  if (template !== null && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, renderTemplate(value as JsonValue, scope, options)]));
  }
  return template;
}

/** `text` with each `{{path}}` replaced by the text of the value it references (strings as they are, else JSON). */
export function interpolate(text: string, scope: JsonValue, options: TemplateOptions = {}): string {
  return text.replace(PLACEHOLDER, (match, path: string) => {
    if (!fills(path, options)) return match;
    const value = getByPath(scope, path);
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

function fills(path: string, options: TemplateOptions): boolean {
  return options.roots === undefined || options.roots.includes(path.split(/[.[]/, 1)[0] ?? '');
}
