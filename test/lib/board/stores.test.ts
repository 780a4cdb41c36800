import { strict as assert } from 'node:assert';
import { KvStore, type StoreChange } from '../../../lib/board/stores';

describe('board/stores', () => {
  it('u32 keys and values, capacity, full → −1 without throwing, overwrite always allowed', () => {
    const s = new KvStore('global', 'b', 2);
    assert.equal(s.put(1, 10), 0);
    assert.equal(s.put(2, 20), 0);
    assert.equal(s.put(3, 30), -1);
    assert.equal(s.has(3), false);
    assert.equal(s.put(2, 21), 0);
    assert.equal(s.get(2), 21);
    assert.equal(s.put(-1, -1), -1); // 0xffffffff is a new key: still full
    s.delete(1);
    assert.equal(s.put(-1, -1), 0);
    assert.equal(s.get(0xffffffff), 0xffffffff);
  });

  it('fetch of an absent key reads 0 without consuming a slot', () => {
    const s = new KvStore('local', 'c1', 1);
    assert.equal(s.fetch(7), 0);
    assert.equal(s.fetch(8), 0);
    assert.equal(s.size, 0);
    assert.equal(s.put(9, 1), 0);
  });

  it('is observable and editable from the host', () => {
    const s = new KvStore('tenant', 't', 4);
    const log: StoreChange[] = [];
    s.on('change', (c: StoreChange) => log.push(c));
    s.put(1, 5, 'c1');
    s.put(1, 5, 'c1'); // same value: no event
    s.put(1, 6);
    s.delete(1);
    assert.deepEqual(log.map((c) => [c.key, c.value, c.previous, c.by, c.scope, c.owner]), [
      [1, 5, undefined, 'c1', 'tenant', 't'],
      [1, 6, 5, 'host', 'tenant', 't'],
      [1, undefined, 6, 'host', 'tenant', 't'],
    ]);
    assert.deepEqual(s.toJSON(), {});
  });
});
