import { SubscribeRequestV1, UnsubscribeRequestV1, splitEventId } from './subscription.v1';

const AGENT_ID = '9b2e4c1d-5a6f-4b7c-8d9e-1f2a3b4c5d6e';
const RUN_ID = '3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f';

describe('SubscribeRequestV1', () => {
  it.each([
    ['an agent', { agent_id: AGENT_ID }],
    ['an agent after any event', { agent_id: AGENT_ID, after: `${RUN_ID}:7` }],
    ['a run', { run_id: RUN_ID }],
    ['a run after one of its events', { run_id: RUN_ID, after: `${RUN_ID}:7` }],
    ['a topic', { topic: 'alerts.high:eu-1' }],
  ])('should accept %s', (_label, payload) => {
    expect(SubscribeRequestV1.parse(payload)).toEqual(payload);
  });

  it.each([
    ['both targets', { agent_id: AGENT_ID, run_id: RUN_ID }],
    ['no target', {}],
    ['a target that is not a UUID', { run_id: 'run-1' }],
    ['an extra key', { run_id: RUN_ID, since: 0 }],
    ['after that is not an event id', { agent_id: AGENT_ID, after: '42' }],
    ['a run resumed after another run', { run_id: RUN_ID, after: `${AGENT_ID}:1` }],
    ['a topic resumed', { topic: 'alerts', after: `${RUN_ID}:1` }],
    ['a topic with a slash', { topic: 'a/b' }],
    ['null', null],
    ['a bare id string', RUN_ID],
  ])('should reject %s', (_label, payload) => {
    expect(SubscribeRequestV1.safeParse(payload).success).toBe(false);
  });

  it('should take unsubscribe targets without after', () => {
    expect(UnsubscribeRequestV1.safeParse({ agent_id: AGENT_ID }).success).toBe(true);
    expect(UnsubscribeRequestV1.safeParse({ agent_id: AGENT_ID, after: `${RUN_ID}:1` }).success).toBe(false);
  });
});

describe(splitEventId.name, () => {
  it('should split an event id into its run and seq, and refuse anything else', () => {
    expect(splitEventId(`${RUN_ID}:12`)).toEqual({ run_id: RUN_ID, seq: 12 });
    expect(splitEventId('nope')).toBeNull();
    expect(splitEventId(`${RUN_ID}:${'9'.repeat(30)}`)).toBeNull();
  });
});
