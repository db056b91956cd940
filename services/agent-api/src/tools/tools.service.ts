import { Injectable } from '@nestjs/common';
import { ToolRegistry } from '@skreaver/agent-runtime';
import type { ToolList } from '@skreaver/contracts';

/** The tools agents can call, as `GET /tools` lists them. */
@Injectable()
export class ToolsService {
  constructor(private readonly tools: ToolRegistry) {}

  list(): ToolList {
    return { items: this.tools.describe() };
  }
}
