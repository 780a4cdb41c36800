#!/usr/bin/env node
/**
 * The fuzzer (`npm run fuzz -- --seconds N [--target NAME[,NAME…]] [--seed S]`): round-robins
 * structure-aware generators and mutations of valid inputs over every input path (see
 * targets.ts), prints per target the cases run, cases per second and findings, saves each
 * finding's input with the command that replays it, and exits 1 when anything was found.
 *
 *   --seconds N        total time, shared by the targets (equally, but the slow sandbox target
 *                      gets three shares) (default 60)
 *   --target A,B       only these targets (default: all)
 *   --seed S           run seed (default: random, printed); case k of target T is generated from
 *                      (S, T, k) alone, so any case can be regenerated
 *   --case K           run only case K of each target (with --seed): regenerate a finding
 *   --cases N          stop each target after N cases (deterministic amount of work)
 *   --replay FILE      run the input saved in a finding file
 *   --findings DIR     where findings are saved (default $TMPDIR/femto-fuzz-findings)
 *   --slow-ms N        a case slower than this is a finding (default 10000)
 *   --strict           count known issues (known.ts) as findings too
 *   --json             print the report as JSON as well
 *   --list             list the targets
 */
import * as fs from 'node:fs';
import { defaultFindingsDir, formatReport, fromJsonSafe, replay, runFuzz, type Target } from './engine';
import { TARGETS, targetByName } from './targets';
import { corpus } from './corpus';
import { KNOWN_ISSUES } from './known';
import { Rng } from './rng';

function usage(msg?: string): never {
  if (msg) console.error(`fuzz: ${msg}`);
  console.error('usage: node dist/test/fuzz/run.js [--seconds N] [--target NAME[,NAME…]] [--seed S] [--case K] [--cases N] [--replay FILE] [--findings DIR] [--slow-ms N] [--strict] [--json] [--list]');
  process.exit(2);
}

function parse(argv: string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) usage(`unexpected argument ${a}`);
    const [k, v] = a.slice(2).split('=', 2);
    if (['json', 'list', 'strict'].includes(k)) out[k] = true;
    else if (v !== undefined) out[k] = v;
    else if (i + 1 < argv.length) out[k] = argv[++i];
    else usage(`--${k} needs a value`);
  }
  return out;
}

function num(v: string | true | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v === true || !Number.isFinite(n) || n < 0) usage(`--${name} needs a number`);
  return n;
}

async function main(): Promise<number> {
  const a = parse(process.argv.slice(2));
  const known = ['seconds', 'target', 'seed', 'case', 'cases', 'replay', 'findings', 'slow-ms', 'json', 'list', 'strict'];
  for (const k of Object.keys(a)) if (!known.includes(k)) usage(`unknown option --${k}`);
  if (a.list) {
    for (const t of TARGETS) console.log(`${t.name.padEnd(9)} ${t.description}\n${''.padEnd(9)} may throw: ${t.allowed.join('; ') || 'nothing'}`);
    return 0;
  }
  if (typeof a.replay === 'string') {
    const rec = JSON.parse(fs.readFileSync(a.replay, 'utf8')) as { target: string; input: unknown; kind: string; message: string };
    const t = targetByName(rec.target);
    if (!t) usage(`unknown target ${rec.target}`);
    console.log(`replaying ${rec.target} (${rec.kind}: ${rec.message.split('\n')[0]})`);
    const r = await replay(t, fromJsonSafe(rec.input));
    console.log(r ? `reproduced [${r.kind}] ${r.message}` : 'did not reproduce: no finding');
    return r ? 1 : 0;
  }
  let targets: Target[] = [...TARGETS];
  if (typeof a.target === 'string') {
    targets = a.target.split(',').map((n) => targetByName(n.trim()) ?? usage(`unknown target ${n} (targets: ${TARGETS.map((t) => t.name).join(', ')})`));
  }
  const seed = a.seed !== undefined ? num(a.seed, 'seed', 0) : new Rng(String(Date.now()), String(process.pid)).u32();
  const c = corpus();
  console.log(`fuzz: seed ${seed}, targets ${targets.map((t) => t.name).join(', ')}; corpus: ${c.elf.length} ELF objects (${c.elfSource}), ${c.images.length} images, ${c.asm.length} assembly texts`);
  if (a.case !== undefined) {
    const k = num(a.case, 'case', 0);
    let found = 0;
    for (const t of targets) {
      const input = t.generate(new Rng(seed, t.name, k), k);
      const r = await replay(t, input);
      console.log(`${t.name} case ${k}: ${r ? `[${r.kind}] ${r.message}` : 'ok'}`);
      if (r) found++;
    }
    return found ? 1 : 0;
  }
  const seconds = num(a.seconds, 'seconds', 60);
  const report = await runFuzz({
    targets, seconds, seed, findingsDir: typeof a.findings === 'string' ? a.findings : defaultFindingsDir(),
    slowMs: num(a['slow-ms'], 'slow-ms', 10_000), maxCases: a.cases !== undefined ? num(a.cases, 'cases', 0) : undefined,
    known: a.strict ? [] : KNOWN_ISSUES,
  });
  console.log(formatReport(report));
  const total = report.targets.reduce((s, t) => s + t.cases, 0);
  console.log(`fuzz: ${total} cases in ${(report.ms / 1000).toFixed(1)} s, ${report.findings.length} finding(s), ${report.known.length} known-issue match(es), seed ${seed}`);
  for (const note of new Set(report.known.map((k) => k.known))) console.log(`  known: ${note} (${report.known.filter((k) => k.known === note).length}×)`);
  if (a.json) console.log(JSON.stringify(report));
  if (report.findings.length) {
    console.log(`fuzz: findings saved under ${typeof a.findings === 'string' ? a.findings : defaultFindingsDir()}`);
    for (const f of report.findings.slice(0, 20)) console.log(`  ${f.target} case ${f.case} [${f.kind}] ${f.message.split('\n')[0]}${f.file ? `\n    ${f.file}` : ''}`);
  }
  return report.findings.length ? 1 : 0;
}

main().then((code) => {
  // Sockets and timers of the device target are closed by its teardown; exit explicitly anyway.
  process.exitCode = code;
  setTimeout(() => process.exit(code), 200).unref();
}, (e) => {
  console.error(e);
  process.exit(2);
});
