import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServices, uniqueName } from '../../helpers/services.js';

const SET_COUNT = 4_000;
const INCR_COUNT = 3_000;
const GET_COUNT = 3_000;
const COUNTER_KEYS = 97;

describe('redis smoke: a pipeline of 10k commands', () => {
  const { redisUrl } = testServices();
  const prefix = uniqueName('smoke');
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 });
  });
  afterAll(async () => {
    await redis?.quit();
  });

  it('returns every reply in order', async () => {
    const pipeline = redis.pipeline();
    const expected: Array<string | number> = [];
    for (let i = 0; i < SET_COUNT; i++) {
      pipeline.set(`${prefix}:s:${i}`, `value-${i * 13}`);
      expected.push('OK');
    }
    const totals = new Array<number>(COUNTER_KEYS).fill(0);
    for (let i = 0; i < INCR_COUNT; i++) {
      const counter = i % COUNTER_KEYS;
      const step = (i % 7) + 1;
      pipeline.incrby(`${prefix}:c:${counter}`, step);
      totals[counter] += step;
      expected.push(totals[counter]);
    }
    for (let i = 0; i < GET_COUNT; i++) {
      const key = (i * 37) % SET_COUNT;
      pipeline.get(`${prefix}:s:${key}`);
      expected.push(`value-${key * 13}`);
    }
    expect(pipeline.length).toBe(10_000);

    const replies = await pipeline.exec();
    expect(replies).not.toBeNull();
    const errors = (replies ?? []).filter(([err]) => err !== null);
    expect(errors).toEqual([]);
    expect((replies ?? []).map(([, value]) => value)).toEqual(expected);

    const counters = await redis.mget(Array.from({ length: COUNTER_KEYS }, (_, c) => `${prefix}:c:${c}`));
    expect(counters.map(Number)).toEqual(totals);
  });
});
