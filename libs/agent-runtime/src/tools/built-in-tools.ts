import { httpRequestTool } from './http-request.tool';
import { jsonTool } from './json.tool';
import { mathTool } from './math.tool';
import { memoryGetTool, memoryPutTool } from './memory.tool';
import { meshRequestTool, meshSendTool } from './mesh.tool';
import { requestInputTool } from './request-input.tool';
import { sleepTool } from './sleep.tool';
import { textTool } from './text.tool';
import { timeTool } from './time.tool';
import type { ToolDefinition } from './tool-definition';

/** Every tool Skreaver ships. */
export function builtInTools(): ToolDefinition<unknown>[] {
  return [httpRequestTool, jsonTool, textTool, mathTool, memoryGetTool, memoryPutTool, timeTool, sleepTool, meshSendTool, meshRequestTool, requestInputTool] as ToolDefinition<unknown>[];
}
