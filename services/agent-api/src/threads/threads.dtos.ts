import {
  CreateThreadRequest,
  CreateThreadRunRequest,
  ListThreadsQuery,
  Thread,
  ThreadHistoryPage,
  ThreadHistoryQuery,
  ThreadIdParams,
  ThreadList,
  UpdateThreadRequest,
} from '@skreaver/contracts';
import { createZodDto } from 'nestjs-zod';

// The thread contracts as classes (see ../dtos.ts): validated by the global pipe, documented in /openapi.json.

export class ThreadIdParamsDto extends createZodDto(ThreadIdParams) {}
export class ListThreadsQueryDto extends createZodDto(ListThreadsQuery) {}
export class ThreadHistoryQueryDto extends createZodDto(ThreadHistoryQuery) {}
export class CreateThreadRequestDto extends createZodDto(CreateThreadRequest) {}
export class UpdateThreadRequestDto extends createZodDto(UpdateThreadRequest) {}
export class CreateThreadRunRequestDto extends createZodDto(CreateThreadRunRequest) {}

export class ThreadDto extends createZodDto(Thread) {}
export class ThreadListDto extends createZodDto(ThreadList) {}
export class ThreadHistoryPageDto extends createZodDto(ThreadHistoryPage) {}
