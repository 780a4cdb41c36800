/**
 * Pre-flight verifier (ARCHITECTURE.md § Verifier): decides, before a container is attached, whether its program
 * is safe for the interpreter to run without per-instruction structural checks. It is RIOT's
 * rule set done right plus what RFC 9669 makes necessary, in two profiles:
 *
 *  - `rfc9669` (default): every non-legacy conformance group, local calls, callx.
 *  - `riot-2022`: exactly what RIOT's 2022 reference VM accepts, so a maker learns whether an
 *    image will run on a real board (ALU64, 64-bit JMP, LDX/ST/STX 1–8 bytes, lddw and RIOT's
 *    0xB8/0xD8, helper calls, exit; division by a zero immediate rejected). It ends as RIOT's
 *    verifier says: the last slot must be `exit` (−7; a final backward `ja` too), unless RIOT's
 *    "no return" configuration is on (VerifyOptions.noReturn), which skips that check.
 *
 * Linear in program size: one pass marks wide-load halves and collects call targets, one pass
 * checks each instruction, and the call graph (at most one node per local function) is walked
 * once. The first violation is reported with RIOT's code, the rule name, the pc and the
 * instruction as text; warnings (RIOT library-VM quirks) never reject.
 */
import { disassembleInsn } from './disassembler';
import { FaultCode, VerifyError } from './errors';
import { isDivision, isDivisionOffset, isSignedDivision, divZeroFaults } from './division';
import {
  ALU_END, ALU_MOV, ALU_NEG, ATOMIC_CMPXCHG, ATOMIC_FETCH, ATOMIC_KINDS, CALL_BTF, CALL_HELPER, CALL_LOCAL,
  CLS_ALU, CLS_ALU64, CLS_JMP, CLS_JMP32, CLS_LD, CLS_LDX, CLS_ST, CLS_STX, INSN_SIZE, JMP_CALL, JMP_EXIT, JMP_JA, JMP_JSLE,
  MODE_ATOMIC, MODE_MEM, MODE_MEMSX, OP, REG_FP, SIZE_DW,
  aluOp, cls as opClass, isLegacyPacketLoad, isSrcX, isWide, jmpOp, jumpTarget, memMode, memSize,
} from './opcodes';
import type { Program } from './program';

export type Profile = 'rfc9669' | 'riot-2022';
export const PROFILES: readonly Profile[] = ['rfc9669', 'riot-2022'];

export interface VerifyOptions {
  profile?: Profile;
  /** Helper ids this container may call. Absent: any id is accepted (tools without a board). */
  helpers?: ReadonlySet<number>;
  /** Maximum depth of program-local calls (rfc9669); a deeper static call chain is rejected. */
  maxCallDepth?: number;
  /** Maximum program length in slots. */
  maxSlots?: number;
  /**
   * RIOT's "no return" configuration (FC_CONFIG_NO_RETURN, 0x0100): a long-running container
   * that is not required to end in `exit`. riot-2022 then skips RIOT's last-instruction check, as
   * RIOT does; rfc9669 keeps its own rule (exit or an unconditional backward jump) either way.
   */
  noReturn?: boolean;
}

export interface VerifyInfo {
  /** Helper ids the program calls directly. */
  helpersUsed: number[];
  hasLocalCalls: boolean;
  usesCallx: boolean;
  /** Deepest static local-call chain (0 without calls); -1 when the program recurses. */
  callDepth: number;
  warnings: string[];
}

export type VerifyResult = ({ ok: true } | { ok: false; error: VerifyError }) & VerifyInfo;

export const DEFAULT_MAX_CALL_DEPTH = 8;
export const DEFAULT_MAX_SLOTS = 65536;

const ATOMIC_OPS = new Set(ATOMIC_KINDS);

class Reject {
  constructor(readonly code: number, readonly rule: string, readonly reason: string, readonly pc: number) {}
}

/** Verify a program. Never throws for any input; the result says why it was rejected. */
export function verify(program: Program, opts: VerifyOptions = {}): VerifyResult {
  const info: VerifyInfo = { helpersUsed: [], hasLocalCalls: false, usesCallx: false, callDepth: 0, warnings: [] };
  try {
    check(program, opts, info);
    return { ok: true, ...info };
  } catch (e) {
    if (!(e instanceof Reject)) throw e;
    const text = e.pc >= 0 && e.pc < program.length ? disassembleInsn(program.insn(e.pc), e.pc) : undefined;
    return { ok: false, error: new VerifyError(e.code, e.rule, e.reason, e.pc, text), ...info };
  }
}

/** Verify and throw the VerifyError on rejection. */
export function assertVerified(program: Program, opts: VerifyOptions = {}): VerifyInfo {
  const r = verify(program, opts);
  if (!r.ok) throw r.error;
  return r;
}

function check(p: Program, opts: VerifyOptions, info: VerifyInfo): void {
  const profile = opts.profile ?? 'rfc9669';
  const riot = profile === 'riot-2022';
  const n = p.length;
  const maxSlots = opts.maxSlots ?? DEFAULT_MAX_SLOTS;
  if (p.byteLength === 0) throw new Reject(FaultCode.ILLEGAL_LEN, 'length', 'empty program', 0);
  if (p.byteLength % INSN_SIZE !== 0) {
    throw new Reject(FaultCode.ILLEGAL_LEN, 'length', `text is ${p.byteLength} bytes, not a multiple of ${INSN_SIZE}`, n);
  }
  if (n > maxSlots) throw new Reject(FaultCode.ILLEGAL_LEN, 'length', `${n} instructions, more than the limit of ${maxSlots}`, 0);

  // Pass 1: instruction starts (a jump may not land in the second half of a wide load).
  const second = new Uint8Array(n);
  for (let pc = 0; pc < n; pc++) {
    if (isWide(p.opcode[pc])) {
      if (pc + 1 >= n) throw new Reject(FaultCode.ILLEGAL_INSTRUCTION, 'wide-load', 'wide load is missing its second half', pc);
      second[pc + 1] = 1;
      pc++;
    }
  }

  const helpers = new Set<number>();
  const callTargets: number[] = [];
  const callSites: number[] = [];
  const target = (pc: number, to: number, what: string): void => {
    if (to < 0 || to >= n) throw new Reject(FaultCode.ILLEGAL_JUMP, 'jump-target', `${what} target ${to} is outside the program (0..${n - 1})`, pc);
    if (second[to]) throw new Reject(FaultCode.ILLEGAL_JUMP, 'jump-target', `${what} target ${to} is the second half of a wide load`, pc);
  };
  const illegal = (pc: number, why: string, rule = 'opcode'): never => {
    throw new Reject(FaultCode.ILLEGAL_INSTRUCTION, rule, why, pc);
  };
  const profileOnly = (pc: number, what: string): void => {
    if (riot) illegal(pc, `${what} is not supported by RIOT's 2022 femto-container VM`, 'profile');
  };

  // Pass 2: each instruction.
  for (let pc = 0; pc < n; pc++) {
    const op = p.opcode[pc], dst = p.dst[pc], src = p.src[pc], off = p.offset[pc], imm = p.imm[pc];
    if (dst > REG_FP) throw new Reject(FaultCode.ILLEGAL_REGISTER, 'register', `destination register r${dst} does not exist`, pc);
    if (src > REG_FP) throw new Reject(FaultCode.ILLEGAL_REGISTER, 'register', `source register r${src} does not exist`, pc);
    const writesDst = (): void => {
      if (dst === REG_FP) throw new Reject(FaultCode.ILLEGAL_REGISTER, 'r10-write', 'r10 (frame pointer) is read-only', pc);
    };
    const zero = (field: string, v: number): void => {
      if (v !== 0) illegal(pc, `reserved field ${field} must be 0 (is ${v})`, 'reserved');
    };
    const cls = opClass(op);
    switch (cls) {
      case CLS_LD: {
        if (isWide(op)) {
          if (src !== 0) illegal(pc, op === OP.LDDW ? `lddw with src=${src} (map/BTF pseudo loads) is not supported` : `src must be 0`, 'wide-load');
          zero('offset', off);
          writesDst();
          const h = pc + 1;
          if (p.opcode[h] !== 0 || p.dst[h] !== 0 || p.src[h] !== 0 || p.offset[h] !== 0) {
            illegal(pc, 'second half of a wide load must have opcode, registers and offset 0', 'wide-load');
          }
          if (riot && op === OP.LDDW && imm < 0) {
            info.warnings.push(`pc ${pc}: RIOT's library VM sign-extends the low half of lddw; this constant differs there`);
          }
          pc++;
          break;
        }
        if (isLegacyPacketLoad(op)) illegal(pc, 'legacy packet access (BPF_ABS/BPF_IND) is not implemented', 'legacy-packet');
        illegal(pc, `unknown opcode 0x${hex(op)}`);
        break;
      }
      case CLS_LDX: {
        const mode = memMode(op);
        if (mode === MODE_MEM) { /* ok */ }
        else if (mode === MODE_MEMSX && memSize(op) !== SIZE_DW) profileOnly(pc, 'sign-extending load');
        else illegal(pc, `unknown load opcode 0x${hex(op)}`);
        zero('imm', imm);
        writesDst();
        break;
      }
      case CLS_ST: {
        if (memMode(op) !== MODE_MEM) illegal(pc, `unknown store opcode 0x${hex(op)}`);
        zero('src', src);
        break;
      }
      case CLS_STX: {
        const mode = memMode(op);
        if (mode === MODE_MEM) zero('imm', imm);
        else if (mode === MODE_ATOMIC && (op === OP.ATOMIC_W || op === OP.ATOMIC_DW)) {
          profileOnly(pc, 'atomic operation');
          if (!ATOMIC_OPS.has(imm)) illegal(pc, `unknown atomic operation 0x${hex(imm)}`);
          // Fetching forms write the old value into src; cmpxchg writes r0 instead.
          if ((imm & ATOMIC_FETCH) !== 0 && imm !== ATOMIC_CMPXCHG && src === REG_FP) {
            throw new Reject(FaultCode.ILLEGAL_REGISTER, 'r10-write', 'atomic fetch would write r10', pc);
          }
        } else illegal(pc, `unknown store opcode 0x${hex(op)}`);
        break;
      }
      case CLS_ALU: case CLS_ALU64: {
        const alu64 = cls === CLS_ALU64;
        if (!alu64) profileOnly(pc, '32-bit ALU instruction');
        const code = aluOp(op);
        const x = isSrcX(op);
        if (code > ALU_END) illegal(pc, `unknown ALU opcode 0x${hex(op)}`);
        if (code === ALU_NEG) {
          if (x) {
            illegal(pc, op === OP.RIOT_NEG64_QUIRK
              ? 'opcode 0x8f is not NEG: RIOT\'s library VM mis-encodes NEG as 0x8f; use 0x87'
              : `unknown ALU opcode 0x${hex(op)}`);
          }
          zero('src', src); zero('offset', off); zero('imm', imm);
          if (riot) info.warnings.push(`pc ${pc}: RIOT's library VM expects NEG as 0x8f; 0x87 runs on RIOT's in-tree VM`);
        } else if (code === ALU_END) { // byte swap
          if (alu64 && x) illegal(pc, `unknown ALU opcode 0x${hex(op)}`);
          profileOnly(pc, 'byte swap');
          zero('src', src); zero('offset', off);
          if (imm !== 16 && imm !== 32 && imm !== 64) illegal(pc, `byte swap width must be 16, 32 or 64 (is ${imm})`);
        } else {
          if (x) zero('imm', imm); else zero('src', src);
          if (isDivision(op)) {
            if (!isDivisionOffset(off)) illegal(pc, `division offset must be 0 (unsigned) or 1 (signed), is ${off}`);
            if (isSignedDivision(off)) profileOnly(pc, 'signed division');
            if (!x && imm === 0 && divZeroFaults(profile)) throw new Reject(FaultCode.ILLEGAL_DIV, 'div-by-zero', 'division by a zero immediate', pc);
          } else if (code === ALU_MOV && x) {
            const okOffs = alu64 ? [0, 8, 16, 32] : [0, 8, 16];
            if (!okOffs.includes(off)) illegal(pc, `mov offset must be one of ${okOffs.join(', ')} (is ${off})`);
            if (off !== 0) profileOnly(pc, 'sign-extending move');
          } else zero('offset', off);
        }
        writesDst();
        break;
      }
      case CLS_JMP: case CLS_JMP32: {
        const j32 = cls === CLS_JMP32;
        const code = jmpOp(op);
        const x = isSrcX(op);
        if (j32) profileOnly(pc, '32-bit jump');
        if (code === JMP_JA) { // ja / ja32
          if (x) illegal(pc, `unknown jump opcode 0x${hex(op)}`);
          zero('src', src); zero('dst', dst);
          if (j32) zero('offset', off); else zero('imm', imm);
          target(pc, jumpTarget(op, pc, off, imm), 'jump');
        } else if (code === JMP_CALL) {
          if (j32) illegal(pc, `unknown jump opcode 0x${hex(op)}`);
          zero('offset', off);
          if (x) { // callx: helper id in dst
            profileOnly(pc, 'callx');
            zero('src', src); zero('imm', imm);
            info.usesCallx = true;
          } else {
            zero('dst', dst);
            if (src === CALL_HELPER) {
              if (opts.helpers && !opts.helpers.has(imm)) {
                throw new Reject(FaultCode.ILLEGAL_CALL, 'helper', `helper ${imm} (0x${hex(imm)}) is unknown or not granted to this container`, pc);
              }
              helpers.add(imm);
            } else if (src === CALL_LOCAL) {
              profileOnly(pc, 'program-local call');
              const to = jumpTarget(op, pc, off, imm);
              if (to < 0 || to >= n || second[to]) {
                throw new Reject(FaultCode.ILLEGAL_JUMP, 'call-target', `local call target ${to} is not an instruction of the program`, pc);
              }
              callTargets.push(to);
              callSites.push(pc);
            } else illegal(pc, src === CALL_BTF ? 'calls by BTF id are not supported' : `unknown call kind src=${src}`, 'call');
          }
        } else if (code === JMP_EXIT) {
          if (j32 || x) illegal(pc, `unknown jump opcode 0x${hex(op)}`);
          zero('src', src); zero('dst', dst); zero('offset', off); zero('imm', imm);
        } else if (code > JMP_JSLE) {
          illegal(pc, `unknown jump opcode 0x${hex(op)}`);
        } else {
          if (x) zero('imm', imm); else zero('src', src);
          target(pc, jumpTarget(op, pc, off, imm), 'jump');
        }
        break;
      }
    }
  }

  // How the program must end. riot-2022 mirrors RIOT's verifier (ARCHITECTURE.md § Verifier): unless
  // the "no return" flag is set, the opcode byte of the last slot must be exit (OP.EXIT) — a final
  // backward `ja` is refused with −7 there — and with the flag nothing is checked (running off
  // the end is our sentinel's clean fault −1). rfc9669: exit or an unconditional backward jump.
  const last = n - 1;
  const lop = p.opcode[last];
  if (riot) {
    if (!opts.noReturn && (second[last] || lop !== OP.EXIT)) {
      throw new Reject(FaultCode.NO_RETURN, 'no-return',
        'last instruction is not exit (RIOT requires exit at the end unless the image sets the "no return" flag 0x0100)', last);
    }
  } else {
    const endsOk = !second[last] && (lop === OP.EXIT ||
      (lop === OP.JA && p.offset[last] < 0) || (lop === OP.JA32 && p.imm[last] < 0));
    if (!endsOk) throw new Reject(FaultCode.NO_RETURN, 'no-return', 'last instruction is neither exit nor an unconditional backward jump', last);
  }

  info.helpersUsed = [...helpers].sort((a, b) => a - b);
  info.hasLocalCalls = callTargets.length > 0;
  if (info.hasLocalCalls) {
    info.callDepth = callDepth(n, callSites, callTargets);
    const max = opts.maxCallDepth ?? DEFAULT_MAX_CALL_DEPTH;
    if (info.callDepth > max) {
      throw new Reject(FaultCode.ILLEGAL_CALL, 'call-depth', `local calls nest ${info.callDepth} deep, more than the limit of ${max}`, callSites[0]);
    }
  }
}

/**
 * Deepest chain of local calls. Functions start at 0 and at every call target; each call site
 * belongs to the function with the greatest start ≤ its pc. Returns -1 for recursion (bounded at
 * run time by the call-depth limit instead).
 */
function callDepth(n: number, sites: number[], targets: number[]): number {
  const starts = [...new Set([0, ...targets])].sort((a, b) => a - b);
  const fnOf = (pc: number): number => {
    let lo = 0, hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= pc) lo = mid; else hi = mid - 1;
    }
    return lo;
  };
  const edges: number[][] = starts.map(() => []);
  sites.forEach((s, k) => edges[fnOf(s)].push(fnOf(targets[k])));
  const depth = new Int32Array(starts.length).fill(-2); // -2 unvisited, -3 on stack
  let recursive = false;
  // Iterative DFS so deep call chains cannot overflow the JS stack.
  const visit = (root: number): void => {
    const stack: [number, number][] = [[root, 0]];
    depth[root] = -3;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [f, k] = top;
      if (k < edges[f].length) {
        top[1]++;
        const g = edges[f][k];
        if (depth[g] === -3) recursive = true;
        else if (depth[g] === -2) { depth[g] = -3; stack.push([g, 0]); }
      } else {
        let d = 0;
        for (const g of edges[f]) if (depth[g] >= 0) d = Math.max(d, depth[g] + 1);
        depth[f] = d;
        stack.pop();
      }
    }
  };
  void n;
  visit(0);
  return recursive ? -1 : depth[0];
}

function hex(v: number): string {
  return (v >>> 0).toString(16).padStart(2, '0');
}
