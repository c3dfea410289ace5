import { describe, expect, it } from 'vitest';
import { uniqueName } from '../../helpers/services.js';
import { randomKafkaClusterId } from '../../services/kafka-config.js';

describe('uniqueName', () => {
  it('gives distinct names that are valid ClickHouse identifiers and Kafka topic names', () => {
    const names = ['smoke', 'Orders-Table', '9lives', 'a.b c'].flatMap((p) => [uniqueName(p), uniqueName(p)]);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) {
      expect(name).toMatch(/^[a-z_][a-z0-9_]*$/);
      expect(name.length).toBeLessThan(249);
    }
    expect(uniqueName('Orders-Table')).toMatch(/^orders_table_/);
    expect(uniqueName('9lives')).toMatch(/^t_9lives_/);
  });
});

describe('randomKafkaClusterId', () => {
  it('is 16 random bytes in unpadded base64url that does not start with a dash', () => {
    const ids = Array.from({ length: 200 }, () => randomKafkaClusterId());
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});
