/**
 * femto-store on remote boards, without Node-RED (lib/node-support/remote-store): a device status
 * document turned into store contents (and malformed ones refused), reads in the emulated node's
 * message shape plus remote and url, refusals of writes and tenant stores, the error line of an
 * unreachable device, the statuses; and RemoteBoardLink.readFresh against an in-process device
 * (a fresh read, not the poll's copy).
 */
import * as assert from 'node:assert/strict';
import { CoapError } from '../../../lib/deploy/coap-client';
import type { RemoteDevice } from '../../../lib/device/remote-device';
import { RemoteBoardLink } from '../../../lib/node-support/remote-link';
import {
  readFailedStatus, readOnlyStatus, readRemoteStore, refusal, remoteReadErrorText, RemoteStoreError, storesFromStatus, type DeviceStores,
} from '../../../lib/node-support/remote-store';
import { closedPort, startDevice } from '../deploy/util';

const URL = 'coap://127.0.0.1:5683';

/** The parts of a `femto device` status document that carry stores. */
const DOC = {
  device: { name: 'dev', board: 'nrf52840dk', storeCapacity: 16 },
  seq: 2,
  slots: [{ slot: 0, installed: true, store: { 1: 60 } }, { slot: 1, installed: true, store: { 1: 6, 4294967295: 4294967295 } }, { slot: 2, installed: false, store: {} }],
  stores: { global: { 2: 5, 3: 30 } },
};

describe('femto-store on remote boards (lib/node-support/remote-store)', () => {
  describe('storesFromStatus', () => {
    it('reads the global store, each slot\'s local store and the capacity', () => {
      const s = storesFromStatus(DOC, URL);
      assert.deepEqual(s.global, { 2: 5, 3: 30 });
      assert.deepEqual([...s.local.entries()], [[0, { 1: 60 }], [1, { 1: 6, 4294967295: 4294967295 }], [2, {}]]);
      assert.equal(s.capacity, 16);
    });

    it('takes missing stores as empty and an unknown capacity as null', () => {
      const s = storesFromStatus({ seq: 0, slots: [{ slot: 0 }] }, URL);
      assert.deepEqual([s.global, [...s.local.entries()], s.capacity], [{}, [[0, {}]], null]);
    });

    it('a board without /femto/status (a RIOT board): one sentence naming it', () => {
      assert.throws(() => storesFromStatus(undefined, URL), (e: unknown) => e instanceof RemoteStoreError &&
        e.message === `${URL} has no /femto/status resource (a RIOT board), so its stores cannot be read from a flow` && e.short === 'no store resource');
    });

    it('refuses malformed documents instead of passing them on', () => {
      const bad: Record<string, unknown>[] = [
        { stores: { global: { 1: -1 } } },
        { stores: { global: { 1: 1.5 } } },
        { stores: { global: { 1: '7' } } },
        { stores: { global: { x: 1 } } },
        { stores: { global: { 4294967296: 1 } } },
        { stores: { global: [1, 2] } },
        { stores: 'none' },
        { slots: 'none' },
        { slots: [{ store: {} }] },
        { slots: [{ slot: 0, store: { 1: 2 ** 32 } }] },
      ];
      for (const doc of bad) {
        assert.throws(() => storesFromStatus(doc, URL), (e: unknown) => e instanceof RemoteStoreError && e.message.includes(URL) && !e.message.includes('\n'), JSON.stringify(doc));
      }
    });
  });

  describe('readRemoteStore', () => {
    const stores: DeviceStores = storesFromStatus(DOC, URL);
    const ctx = { board: 'remote-rb', url: URL };

    it('get and list of the global store: the emulated shape plus remote and url', () => {
      assert.deepEqual(readRemoteStore(stores, { action: 'get', scope: 'global', slot: 1, key: 2 }, ctx), {
        payload: 5, femto: { scope: 'global', owner: 'remote-rb', board: 'remote-rb', key: 2, remote: true, url: URL, present: true },
      });
      assert.deepEqual(readRemoteStore(stores, { action: 'get', scope: 'global', slot: 1, key: 9 }, ctx).payload, null);
      assert.equal(readRemoteStore(stores, { action: 'get', scope: 'global', slot: 1, key: 9 }, ctx).femto.present, false);
      assert.deepEqual(readRemoteStore(stores, { action: 'list', scope: 'global', slot: 1 }, ctx), {
        payload: { 2: 5, 3: 30 }, femto: { scope: 'global', owner: 'remote-rb', board: 'remote-rb', key: undefined, remote: true, url: URL, size: 2, capacity: 16 },
      });
    });

    it('the local store is the one of the board\'s slot', () => {
      const r = readRemoteStore(stores, { action: 'list', scope: 'local', slot: 1 }, ctx);
      assert.deepEqual(r.payload, { 1: 6, 4294967295: 4294967295 });
      assert.deepEqual([r.femto.owner, r.femto.slot, r.femto.size], ['.ram.1', 1, 2]);
      assert.equal(readRemoteStore(stores, { action: 'get', scope: 'local', slot: 0, key: 1 }, ctx).payload, 60);
      assert.deepEqual(readRemoteStore(stores, { action: 'list', scope: 'local', slot: 2 }, ctx).payload, {});
      // The payload is a copy: changing it changes nothing read later.
      (r.payload as Record<string, number>)[1] = 0;
      assert.equal(readRemoteStore(stores, { action: 'get', scope: 'local', slot: 1, key: 1 }, ctx).payload, 6);
    });

    it('a slot the device does not have: the error names the slots it has', () => {
      assert.throws(() => readRemoteStore(stores, { action: 'list', scope: 'local', slot: 5 }, ctx), (e: unknown) => e instanceof RemoteStoreError &&
        e.message === `${URL} has no slot 5 (it has .ram.0, .ram.1, .ram.2)` && e.short === 'no slot 5 on the device');
    });
  });

  describe('refusals, errors, statuses', () => {
    it('refuses set, delete, clear and tenant stores with one sentence; get and list pass', () => {
      for (const action of ['set', 'delete', 'clear'] as const) {
        const r = refusal(action, 'global', 'remote-rb')!;
        assert.equal(r.key, 'errors.remoteWrite');
        const text = r.text.replace(/__(\w+)__/g, (_, k: string) => String(r.subs[k]));
        assert.equal(text, `cannot ${action} on the remote board remote-rb: the device protocol offers no resource for writing stores, so its stores are read-only (get and list work)`);
      }
      for (const action of ['get', 'list', 'set'] as const) assert.equal(refusal(action, 'tenant', 'remote-rb')!.key, 'errors.remoteTenant');
      assert.match(refusal('get', 'tenant', 'remote-rb')!.text, /the device protocol offers no resource for them/);
      for (const scope of ['global', 'local'] as const) for (const action of ['get', 'list'] as const) assert.equal(refusal(action, scope, 'x'), undefined);
    });

    it('an unreachable device: one line with the address and the timeout', () => {
      assert.equal(remoteReadErrorText(new CoapError('timeout', 'no answer from 127.0.0.1:5683 within 500 ms (device down or not answering)'), URL, 500),
        `device not answering: no reply from ${URL} within 500 ms, so its stores cannot be read`);
      assert.equal(remoteReadErrorText(new CoapError('down', 'nothing answers on udp 127.0.0.1:5683 (port unreachable: device down?)'), URL, 500),
        `device not answering: nothing listens at ${URL} (port unreachable, before the 500 ms timeout), so its stores cannot be read`);
      assert.equal(remoteReadErrorText(new CoapError('response', '5.00', '5.00', new TextEncoder().encode('oops\nat x')), URL, 500), `${URL} answered 5.00 to GET /femto/status: oops`);
      assert.equal(remoteReadErrorText(new RemoteStoreError('no slot', 'x'), URL, 500), 'no slot');
    });

    it('statuses: read-only (grey), device not answering (red ring), the short reason', () => {
      assert.deepEqual(readOnlyStatus('get', 'global', 'global'), { fill: 'grey', shape: 'dot', text: 'remote: read-only · get · global' });
      assert.deepEqual(readOnlyStatus('list', 'local', 'local .ram.1'), { fill: 'grey', shape: 'dot', text: 'remote: read-only · list · local .ram.1' });
      assert.deepEqual(readOnlyStatus('set', 'global', 'global'), { fill: 'grey', shape: 'ring', text: 'remote: read-only' });
      assert.deepEqual(readOnlyStatus('get', 'tenant', 'tenant t'), { fill: 'grey', shape: 'ring', text: 'remote: read-only' });
      assert.deepEqual(readFailedStatus(new CoapError('timeout', 'x')), { fill: 'red', shape: 'ring', text: 'device not answering' });
      assert.deepEqual(readFailedStatus(new CoapError('down', 'x')), { fill: 'red', shape: 'ring', text: 'device not answering' });
      assert.deepEqual(readFailedStatus(new RemoteStoreError('x', 'no store resource')), { fill: 'red', shape: 'ring', text: 'no store resource' });
      assert.deepEqual(readFailedStatus(new CoapError('response', 'x', '4.05')), { fill: 'red', shape: 'ring', text: 'device answered 4.05' });
    });
  });

  describe('RemoteBoardLink.readFresh', function () {
    this.timeout(10_000);
    let dev: RemoteDevice | undefined;
    let link: RemoteBoardLink | undefined;
    afterEach(async () => {
      link?.close();
      link = undefined;
      await dev?.close();
      dev = undefined;
    });

    it('reads the device now, not the poll\'s copy, and the snapshot keeps the stores', async () => {
      dev = await startDevice();
      link = new RemoteBoardLink({ url: dev.url, slot: 0, timeoutMs: 1000, pollMs: 0 }, 'remote-rb');
      await link.check();
      assert.deepEqual(link.snapshot.stores?.global, {});
      dev.board.store('global').put(7, 70, 'test');
      // The poll's copy still has the old picture; a fresh read has the new one.
      assert.deepEqual(link.snapshot.stores?.global, {});
      const seen: unknown[] = [];
      link.on('status', (s) => seen.push(s));
      const st = await link.readFresh();
      const stores = storesFromStatus(st, link.url);
      assert.deepEqual(stores.global, { 7: 70 });
      assert.equal(stores.capacity, 16);
      assert.equal(stores.local.size, dev.board.slots.count);
      assert.deepEqual(link.snapshot.stores?.global, { 7: 70 });
      assert.equal(seen.length, 1);
    });

    it('a device that is not there: the CoapError, and the snapshot says "device not answering"', async () => {
      const url = `coap://127.0.0.1:${await closedPort()}`;
      link = new RemoteBoardLink({ url, slot: 0, timeoutMs: 500, pollMs: 0 }, 'remote-rb');
      await assert.rejects(link.readFresh(), (e: unknown) => e instanceof CoapError && (e.kind === 'down' || e.kind === 'timeout'));
      assert.equal(link.snapshot.reachable, false);
      assert.match(String(link.snapshot.error), /^device not answering/);
    });
  });
});
