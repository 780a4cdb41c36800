/**
 * Every text a user reads from the nodes lives once, in the locale catalogues
 * (nodes/locales/en-US/<node>.json): the runtime's messages (translator in nodes/red.ts falls back
 * on the English catalogue, not on strings in the code), the palette labels and the edit dialogs'
 * texts. Checks that each key the code and the editor files use is in its catalogue, that no call
 * carries English of its own, and that the fallback gives the catalogue's sentence.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../util/paths';
import { englishCatalogue, lookup, translator, type RED } from '../../nodes/red';

const NODES = path.join(ROOT, 'nodes');
/** Which catalogues a source file's t(…) reads (helpers shared by two nodes read both). */
const NAMESPACES: Record<string, string[]> = {
  'femto-board.ts': ['femto-board'], 'femto-container.ts': ['femto-container'], 'remote-container.ts': ['femto-container'],
  'femto-deploy.ts': ['femto-deploy'], 'femto-sensor.ts': ['femto-sensor'], 'femto-store.ts': ['femto-store'],
  'remote-store.ts': ['femto-store'], 'emulated-board.ts': ['femto-sensor', 'femto-store'],
};
const catalogue = (ns: string): unknown => JSON.parse(fs.readFileSync(path.join(NODES, 'locales', 'en-US', `${ns}.json`), 'utf8'));

describe('i18n: the catalogues hold every text once', () => {
  it('each t(key) of the node code is in its catalogue, and no call carries English of its own', () => {
    let calls = 0;
    for (const [file, nss] of Object.entries(NAMESPACES)) {
      const src = fs.readFileSync(path.join(NODES, file), 'utf8');
      for (const m of src.matchAll(/\bt\(\s*('([\w.]+)'|[\w.]+)\s*(,\s*([^)]*))?\)/g)) {
        calls++;
        assert.doesNotMatch(m[4] ?? '', /^['"`]/, `${file}: t(${m[1]}, …) carries its own text`);
        if (!m[2]) continue; // a key held in a variable (remote-store's refusal)
        for (const ns of nss) assert.ok(lookup(catalogue(ns), `${ns}.${m[2]}`), `${file}: ${ns}.${m[2]} is not in locales/en-US/${ns}.json`);
      }
    }
    assert.ok(calls > 25, `${calls} calls found`);
    for (const file of fs.readdirSync(NODES).filter((f) => f.endsWith('.ts'))) {
      if (!NAMESPACES[file] && file !== 'red.ts') assert.doesNotMatch(fs.readFileSync(path.join(NODES, file), 'utf8'), /\bt\('/, `${file} uses t() but its catalogue is not known here`);
    }
  });

  it('the editor files take their texts (palette labels included) from the catalogues', () => {
    for (const file of fs.readdirSync(NODES).filter((f) => f.endsWith('.html'))) {
      const ns = file.replace(/\.html$/, '');
      const cat = catalogue(ns);
      const html = fs.readFileSync(path.join(NODES, file), 'utf8');
      assert.match(html, new RegExp(`paletteLabel: function \\(\\) \\{ return this\\._\\('${ns}\\.paletteLabel'\\); \\}`), `${file}: paletteLabel from the catalogue`);
      const keys = new Set<string>();
      for (const m of html.matchAll(/data-i18n="(?:\[[^\]]*\])?([\w.-]+)"/g)) keys.add(m[1]);
      for (const m of html.matchAll(/\b_\('([\w-]+\.[\w.]+)'/g)) keys.add(m[1]);
      // The Try panel's own lookups are relative to femto-container.try.
      if (ns === 'femto-container') for (const m of html.matchAll(/self\._\('(\w+)'|this\._\('(\w+)'/g)) keys.add(`femto-container.try.${m[1] ?? m[2]}`);
      assert.ok(keys.size > 3, `${file}: ${keys.size} keys`);
      for (const k of keys) {
        if (!k.startsWith(`${ns}.`) || k.endsWith('.')) continue; // another node's key, or a prefix joined at run time
        assert.ok(lookup(cat, k), `${file}: ${k} is not in locales/en-US/${ns}.json`);
      }
    }
  });

  it('without a runtime catalogue, translator gives the English catalogue\'s sentence with its values', () => {
    const stub = { _: (k: string) => k } as unknown as RED;
    const t = translator(stub, 'femto-container');
    assert.equal(t('errors.rejected', { message: 'jump-target at pc 1' }), 'program rejected: jump-target at pc 1');
    assert.equal(t('errors.noProgram'), lookup(englishCatalogue('femto-container'), 'femto-container.errors.noProgram'));
    // With a runtime catalogue, the runtime's text wins.
    const de = translator({ _: (k: string) => (k === 'femto-container.errors.noProgram' ? 'kein Programm' : k) } as unknown as RED, 'femto-container');
    assert.equal(de('errors.noProgram'), 'kein Programm');
    // A key nowhere shows as the key, not as an empty message.
    assert.equal(t('errors.nope'), 'femto-container.errors.nope');
  });
});
