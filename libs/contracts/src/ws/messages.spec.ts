import { SubscribeRequestV1 } from './messages';

const AGENT_ID = '9b2e4c1d-5a6f-4b7c-8d9e-1f2a3b4c5d6e';
const RUN_ID = '3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f';

describe('SubscribeRequestV1', () => {
  it('should accept an agent subscription', () => {
    expect(SubscribeRequestV1.parse({ agent_id: AGENT_ID })).toEqual({ agent_id: AGENT_ID });
  });

  it('should accept a run subscription', () => {
    expect(SubscribeRequestV1.parse({ run_id: RUN_ID })).toEqual({ run_id: RUN_ID });
  });

  it.each([
    ['both targets', { agent_id: AGENT_ID, run_id: RUN_ID }],
    ['no target', {}],
    ['a target that is not a UUID', { run_id: 'run-1' }],
    ['an extra key', { run_id: RUN_ID, since: 0 }],
    ['null', null],
    ['a bare id string', RUN_ID],
  ])('should reject %s', (_label, payload) => {
    expect(SubscribeRequestV1.safeParse(payload).success).toBe(false);
  });
});
