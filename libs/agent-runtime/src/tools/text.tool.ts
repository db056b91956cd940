import { JsonValue } from '@skreaver/contracts';
import { z } from 'zod';

import { JsonPathError, interpolate } from '../json-path';
import { ToolError, defineTool } from './tool-definition';

const MAX_TEXT = 1_000_000;
const text = z.string().max(MAX_TEXT);
// Literal search only: a regular expression from a model or a request could backtrack for minutes (ReDoS).
const MAX_MATCHES = 1_000;

/** `text`: case and whitespace transforms, literal search and replace, split, and `{{name}}` templates. */
export const textTool = defineTool({
  name: 'text',
  description:
    'Text helpers. op "upper" | "lower" | "trim": transform text. op "search": every position of a literal query (optionally case-insensitive). op "replace": replace every occurrence of a literal. op "split": split on a literal separator. op "template": fill {{name}} placeholders from values.',
  inputSchema: z.discriminatedUnion('op', [
    z.strictObject({ op: z.enum(['upper', 'lower', 'trim']), text }),
    z.strictObject({ op: z.literal('search'), text, query: z.string().min(1).max(1_000), ignore_case: z.boolean().default(false) }),
    z.strictObject({ op: z.literal('replace'), text, search: z.string().min(1).max(1_000), replacement: z.string().max(10_000) }),
    z.strictObject({ op: z.literal('split'), text, separator: z.string().max(100), limit: z.number().int().min(1).max(10_000).optional() }),
    z.strictObject({ op: z.literal('template'), template: z.string().max(100_000), values: z.record(z.string(), JsonValue) }),
  ]),
  async run(input): Promise<JsonValue> {
    switch (input.op) {
      case 'upper':
        return { text: input.text.toUpperCase() };
      case 'lower':
        return { text: input.text.toLowerCase() };
      case 'trim':
        return { text: input.text.trim() };
      case 'search': {
        const haystack = input.ignore_case ? input.text.toLowerCase() : input.text;
        const needle = input.ignore_case ? input.query.toLowerCase() : input.query;
        const positions: number[] = [];
        for (let at = haystack.indexOf(needle); at >= 0 && positions.length < MAX_MATCHES; at = haystack.indexOf(needle, at + needle.length)) {
          positions.push(at);
        }
        return { found: positions.length > 0, count: positions.length, positions };
      }
      case 'replace':
        return { text: input.text.split(input.search).join(input.replacement) };
      case 'split': {
        const parts = input.text.split(input.separator);
        return { parts: input.limit === undefined ? parts : parts.slice(0, input.limit) };
      }
      case 'template':
        try {
          return { text: interpolate(input.template, input.values) };
        } catch (error) {
          if (error instanceof JsonPathError) throw new ToolError('template_error', error.message);
          throw error;
        }
    }
  },
});
