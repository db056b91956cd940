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
import { documented } from '@skreaver/http';
import { createZodDto } from 'nestjs-zod';

// The thread contracts as classes (see ../dtos.ts): validated by the global pipe, documented in /openapi.json.

export class ThreadIdParamsDto extends documented(createZodDto(ThreadIdParams)) {}
export class ListThreadsQueryDto extends documented(createZodDto(ListThreadsQuery)) {}
export class ThreadHistoryQueryDto extends documented(createZodDto(ThreadHistoryQuery)) {}
export class CreateThreadRequestDto extends documented(createZodDto(CreateThreadRequest)) {}
export class UpdateThreadRequestDto extends documented(createZodDto(UpdateThreadRequest)) {}
export class CreateThreadRunRequestDto extends documented(createZodDto(CreateThreadRunRequest)) {}

export class ThreadDto extends documented(createZodDto(Thread)) {}
export class ThreadListDto extends documented(createZodDto(ThreadList)) {}
export class ThreadHistoryPageDto extends documented(createZodDto(ThreadHistoryPage)) {}
