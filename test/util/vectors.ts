/**
 * Loads the conformance vectors kept in `test/data/conformance/` and gives tests and the
 * plugin the environment those vectors assume: memory as a writable context with its length in
 * r2, and helper 5 returning its first argument (the suite's reference environment).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFORMANCE_DIR } from './paths';
import type { HelperTable } from '../../vm/vm';

export interface AssembledVector {
  name: string;
  cpu_version: number;
  groups: string[];
  program: string;
  mem: string;
  result: string;
}

export function loadAssembled(): AssembledVector[] {
  const text = fs.readFileSync(path.join(CONFORMANCE_DIR, 'assembled.jsonl'), 'utf8');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as AssembledVector);
}

export function hexBytes(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
  return out;
}

export function expectedResult(r: string): bigint {
  const t = r.trim();
  return BigInt.asUintN(64, t.startsWith('0x') || t.startsWith('-0x') ? BigInt(t) : BigInt(parseInt(t, 10)));
}

export { conformanceHelpers } from '../../lib/conformance-env';
export type { HelperTable };
