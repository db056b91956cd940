import { JsonValue } from '@skreaver/contracts';
import { z } from 'zod';

import { JsonPathError, getByPath, getByPointer } from '../json-path';
import { ToolError, defineTool } from './tool-definition';

const MAX_TEXT = 1_000_000;

/** `json`: parses JSON text and picks values out of JSON by pointer or path. */
export const jsonTool = defineTool({
  name: 'json',
  description:
    'JSON helpers. op "parse": parse text into a value. op "pointer": the value at an RFC 6901 JSON Pointer ("/items/0/name"). op "path": the value at a simple path ("items[0].name" or "items.0.name"). op "stringify": a value as JSON text.',
  inputSchema: z.discriminatedUnion('op', [
    z.strictObject({ op: z.literal('parse'), text: z.string().max(MAX_TEXT) }),
    z.strictObject({ op: z.literal('pointer'), value: JsonValue, pointer: z.string().max(1_000) }),
    z.strictObject({ op: z.literal('path'), value: JsonValue, path: z.string().max(1_000) }),
    z.strictObject({ op: z.literal('stringify'), value: JsonValue, indent: z.number().int().min(0).max(8).optional() }),
  ]),
  async run(input): Promise<JsonValue> {
    switch (input.op) {
      case 'parse':
        try {
          return { value: JsonValue.parse(JSON.parse(input.text)) };
        } catch (error) {
          throw new ToolError('invalid_json', `not JSON: ${error instanceof Error ? error.message : String(error)}`);
        }
      case 'pointer':
        return { value: lookup(() => getByPointer(input.value, input.pointer)) };
      case 'path':
        return { value: lookup(() => getByPath(input.value, input.path)) };
      case 'stringify':
        return { text: JSON.stringify(input.value, null, input.indent) };
    }
  },
});

function lookup(get: () => JsonValue): JsonValue {
  try {
    return get();
  } catch (error) {
    if (error instanceof JsonPathError) throw new ToolError('not_found', error.message);
    throw error;
  }
}
