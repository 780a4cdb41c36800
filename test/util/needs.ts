/**
 * The one place that decides what a test does when a tool it needs is not installed (clang for the
 * C containers, Debian's chromium for the browser tests). On a developer's machine the test skips
 * and its suite prints one line saying what to install, instead of a wall of failures; under CI
 * (CI=true, as .ci/run runs) the missing tool fails the test, so nothing is lost silently.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

export interface Tool {
  /** What the skip line calls it. */
  name: string;
  /** The command that installs it on Debian. */
  install: string;
  present(): boolean;
}

function once(check: () => boolean): () => boolean {
  let known: boolean | undefined;
  return () => (known ??= check());
}

/** clang (or $FEMTO_CLANG), with llvm beside it for the BPF back end and llvm-objdump. */
export const CLANG: Tool = {
  name: 'clang',
  install: 'apt-get install clang llvm',
  present: once(() => spawnSync(process.env.FEMTO_CLANG ?? 'clang', ['--version'], { stdio: 'ignore' }).status === 0),
};

/** Debian's chromium (or $FEMTO_CHROMIUM), driven headless by playwright-core. */
export const chromiumPath = (): string => process.env.FEMTO_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM: Tool = {
  name: 'chromium',
  install: 'apt-get install chromium',
  present: once(() => fs.existsSync(chromiumPath())),
};

/** How both browser tests start it: headless, and quiet on the network (no updates, no sync). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** CI=true (or any value but false/0) as CI services and .ci/run set it. */
export function underCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

const told = new Set<string>();

/** The outermost suite of the running test or hook: one skip line per suite and tool. */
function outerSuite(ctx: Mocha.Context): string {
  let s = ctx.test?.parent;
  while (s?.parent && !s.parent.root) s = s.parent;
  return s?.title ?? '';
}

/**
 * In a test or hook (`this`): returns when the tool is here; otherwise skips (outside CI, with one
 * line per suite) or throws (under CI).
 */
export function need(ctx: Mocha.Context, tool: Tool): void {
  if (tool.present()) return;
  if (underCi()) throw new Error(`${tool.name} not found, and CI must run every test: ${tool.install}`);
  const key = `${tool.name}\0${outerSuite(ctx)}`;
  if (!told.has(key)) {
    told.add(key);
    // eslint-disable-next-line no-console
    console.log(`    skipped: ${tool.name} not found — ${tool.install} (${outerSuite(ctx) || 'this suite'})`);
  }
  ctx.skip();
}

/** `it` for a test that needs the tool. */
export function itNeeds(tool: Tool, title: string, fn: (this: Mocha.Context) => unknown): Mocha.Test {
  return it(title, function () {
    need(this, tool);
    return fn.call(this);
  });
}
