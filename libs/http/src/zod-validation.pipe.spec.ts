import { CreateAgentRequest } from '@skreaver/contracts';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { ApiError } from './api-error';
import { ZodDtoValidationPipe, ZodValidationPipe, toValidationIssues } from './zod-validation.pipe';

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe(ZodValidationPipe.name, () => {
  it('should return the parsed value, with transforms and defaults applied', () => {
    const sut = new ZodValidationPipe(CreateAgentRequest);

    expect(sut.transform({ name: '  bot  ', kind: 'echo' })).toEqual({ name: 'bot', kind: 'echo', config: {}, concurrency: { policy: 'enqueue', max_concurrency: 1 } });
  });

  it('should throw a 400 validation_failed ApiError listing every issue', () => {
    const sut = new ZodValidationPipe(CreateAgentRequest);

    const error = thrownBy(() => sut.transform({ name: '', kind: 'Summarizer!' }));

    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 400,
      code: 'validation_failed',
      message: 'Invalid request body',
      details: [
        { path: 'name', message: expect.any(String) },
        { path: 'kind', message: expect.any(String) },
      ],
    });
  });

  it('should show a root-level issue as (root)', () => {
    const sut = new ZodValidationPipe(z.object({ input: z.string() }));

    expect(thrownBy(() => sut.transform('not an object'))).toMatchObject({
      details: [{ path: '(root)', message: expect.any(String) }],
    });
  });

  it('should name what it validates in the message', () => {
    const sut = new ZodValidationPipe(z.object({ id: z.uuid() }), 'path parameters');

    expect(thrownBy(() => sut.transform({ id: 'nope' }))).toMatchObject({ message: 'Invalid request path parameters' });
  });
});

describe(toValidationIssues.name, () => {
  it('should join nested paths with dots, array indices included', () => {
    const schema = z.object({ items: z.array(z.object({ id: z.number() })) });
    const result = schema.safeParse({ items: [{ id: 1 }, { id: 'two' }] });
    if (result.success) throw new Error('expected a parse failure');

    expect(toValidationIssues(result.error)).toEqual([{ path: 'items.1.id', message: result.error.issues[0]?.message }]);
  });

  it('should keep the zod message of each issue', () => {
    const result = z.string().min(3, 'too short').safeParse('ab');
    if (result.success) throw new Error('expected a parse failure');

    expect(toValidationIssues(result.error)).toEqual([{ path: '(root)', message: 'too short' }]);
  });
});

describe(ZodDtoValidationPipe.name, () => {
  class CreateAgentDto extends createZodDto(CreateAgentRequest) {}
  class PlainClass {}
  const sut = new ZodDtoValidationPipe();

  it('should parse a body, query or path parameters typed with a zod DTO, defaults applied', () => {
    expect(sut.transform({ name: 'bot', kind: 'echo' }, { type: 'body', metatype: CreateAgentDto })).toMatchObject({ config: {} });
  });

  it('should answer the documented 400 naming the part of the request', () => {
    expect(thrownBy(() => sut.transform({}, { type: 'query', metatype: CreateAgentDto }))).toMatchObject({
      status: 400,
      code: 'validation_failed',
      message: 'Invalid request query',
      details: [{ path: 'name', message: expect.any(String) }, { path: 'kind', message: expect.any(String) }],
    });
    expect(thrownBy(() => sut.transform({}, { type: 'param', metatype: CreateAgentDto }))).toMatchObject({ message: 'Invalid request path parameters' });
  });

  it('should leave values of other types, and custom parameters, untouched', () => {
    const value = { anything: true };

    expect(sut.transform(value, { type: 'body', metatype: PlainClass })).toBe(value);
    expect(sut.transform(value, { type: 'body', metatype: Object })).toBe(value);
    expect(sut.transform(value, { type: 'custom', metatype: CreateAgentDto })).toBe(value);
  });
});
