import { z } from 'zod';

/** A tool's name: what agents and models call it by. */
export const ToolName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'a tool name: a lowercase letter, then up to 63 of a-z 0-9 _');
export type ToolName = z.infer<typeof ToolName>;

/** One tool as `GET /tools` lists it. */
export const ToolDescriptor = z.object({
  name: ToolName,
  description: z.string(),
  /** JSON Schema (draft 2020-12) of the tool's input, generated from the schema the tool validates with. */
  input_schema: z.record(z.string(), z.unknown()),
});
export type ToolDescriptor = z.infer<typeof ToolDescriptor>;

/** Answer of `GET /tools`, in name order. */
export const ToolList = z.object({ items: z.array(ToolDescriptor) });
export type ToolList = z.infer<typeof ToolList>;
