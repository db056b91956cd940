import { PassThrough } from 'node:stream';

import { ApiError } from './api-error';
import { readRequestBody } from './request-body';

function payloadOf(chunks: string[], end = true): PassThrough {
  const stream = new PassThrough();
  for (const chunk of chunks) stream.write(chunk);
  if (end) stream.end();
  return stream;
}

describe(readRequestBody.name, () => {
  it('should resolve a body within the limit, multi-byte characters split across chunks included', async () => {
    const euro = Buffer.from('€');
    const stream = new PassThrough();
    stream.write(euro.subarray(0, 1));
    stream.end(euro.subarray(1));

    expect((await readRequestBody(stream, { limit: 3, drainLimit: 10 })).toString('utf8')).toBe('€');
  });

  it('should read an oversized body to its end before refusing it with 413 payload_too_large', async () => {
    const stream = payloadOf(['12345', '67890', 'abc']);

    await expect(readRequestBody(stream, { limit: 8, drainLimit: 100 })).rejects.toMatchObject({
      status: 413,
      code: 'payload_too_large',
      details: { max_bytes: 8 },
    });
    expect(stream.readableEnded).toBe(true);
  });

  it('should not wait for the end of a body that outgrows the drain limit', async () => {
    // Never ended: the refusal must come from the byte count alone.
    const stream = payloadOf(['x'.repeat(6), 'x'.repeat(6)], false);

    await expect(readRequestBody(stream, { limit: 4, drainLimit: 10 })).rejects.toBeInstanceOf(ApiError);
  });

  it('should refuse unread a body announced beyond the drain limit', async () => {
    const stream = payloadOf([], false);

    await expect(readRequestBody(stream, { limit: 4, drainLimit: 10, contentLength: 11 })).rejects.toMatchObject({ status: 413 });
    expect(stream.listenerCount('data')).toBe(0);
  });

  it('should reject a stream error as the client’s fault (400)', async () => {
    const stream = payloadOf(['{'], false);
    const read = readRequestBody(stream, { limit: 10, drainLimit: 100 });
    stream.destroy(new Error('aborted'));

    await expect(read).rejects.toMatchObject({ message: 'aborted', statusCode: 400 });
  });
});
