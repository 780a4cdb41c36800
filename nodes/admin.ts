/**
 * The package's admin endpoints (editor-facing, stable: the "femto" sidebar plugin uses them) and
 * the comms publication of the live state. Registered once per admin app by whichever node file
 * loads first. Not a node file itself.
 *
 *   POST femto/verify   (femto-container.write)  { source, language: c|asm|image, image (base64),
 *                       profile, board, hook, helpers, name } → { ok, rule, code, pc, line, column,
 *                       message, instruction, listing, sourceLines, warnings, profile, insns,
 *                       imageBytes, helpersUsed, diagnostics? } (lib/node-support/program.ts, verifyRequest)
 *   GET  femto/state    (femto-container.read)   → { boards: […] } (lib/node-support/registry.ts)
 *   GET  femto/budget   (femto-container.read)   ?board=<profile>&budget=N[&profile=riot-2022|rfc9669]
 *                       [&insns=N] → { ok, estimate, note?, warning?, maxRunInsns? } or { ok: false,
 *                       message } (lib/board/budget-advice.ts: the edit dialog's budget warning)
 *   GET  femto/try/modules (femto-container.read) → { entry, files: { "lib/try/try-run.js": "…", … } }:
 *                       the compiled code the edit dialog's Try panel runs in the page
 *                       (lib/node-support/try-modules.ts), and nothing else
 *   comms topic femto/state: the same object, retained, at most 4 times a second, on every change.
 */
import { registry } from '../lib/node-support/registry';
import { verifyRequest, type VerifyRequest } from '../lib/node-support/program';
import { budgetAdvice } from '../lib/board/budget-advice';
import { tryModules } from '../lib/node-support/try-modules';
import * as path from 'node:path';
import type { RED } from './red';

const registered = new WeakSet<object>();

export function registerAdmin(RED: RED): void {
  registry.setPublisher((state) => RED.comms.publish('femto/state', state, true));
  const app = RED.httpAdmin as unknown as object;
  if (!app || registered.has(app)) return;
  registered.add(app);

  RED.httpAdmin.post('/femto/verify', RED.auth.needsPermission('femto-container.write'), (req, res) => {
    const body = (req.body ?? {}) as VerifyRequest;
    const lookup = (id: string) => {
      const e = registry.get(id);
      return e ? { vmProfile: e.board.vmProfile, slotSize: e.board.slots.size, name: e.name } : undefined;
    };
    verifyRequest(
      {
        source: typeof body.source === 'string' ? body.source : undefined,
        language: typeof body.language === 'string' ? body.language : undefined,
        image: typeof body.image === 'string' ? body.image : undefined,
        profile: typeof body.profile === 'string' ? body.profile : undefined,
        board: typeof body.board === 'string' ? body.board : undefined,
        hook: typeof body.hook === 'string' ? body.hook : undefined,
        helpers: Array.isArray(body.helpers) || typeof body.helpers === 'string' ? body.helpers : undefined,
        name: typeof body.name === 'string' ? body.name : undefined,
      },
      lookup,
    ).then(
      (r) => res.json(r),
      (e: unknown) => res.status(500).json({ ok: false, rule: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
  });

  RED.httpAdmin.get('/femto/state', RED.auth.needsPermission('femto-container.read'), (_req, res) => {
    res.json(registry.state());
  });

  RED.httpAdmin.get('/femto/try/modules', RED.auth.needsPermission('femto-container.read'), (_req, res) => {
    try {
      // This file is dist/nodes/admin.js: the compiled root is one folder up.
      res.json(tryModules(path.join(__dirname, '..')));
    } catch (e) {
      res.status(500).json({ message: `the Try panel's code could not be read: ${e instanceof Error ? e.message : String(e)}` });
    }
  });

  RED.httpAdmin.get('/femto/budget', RED.auth.needsPermission('femto-container.read'), (req, res) => {
    const q = req.query;
    const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');
    try {
      const profile = str(q.profile);
      const insns = Number(str(q.insns));
      const a = budgetAdvice({
        board: str(q.board) || 'nrf52840dk',
        budget: Number(str(q.budget)),
        vmProfile: profile === 'riot-2022' || profile === 'rfc9669' ? profile : undefined,
        programInsns: Number.isInteger(insns) && insns > 0 ? insns : undefined,
      });
      res.json({ ok: true, estimate: a.estimate, note: a.note, warning: a.warning, maxRunInsns: a.maxRunInsns, vmProfile: a.vmProfile });
    } catch (e) {
      res.json({ ok: false, message: e instanceof Error ? e.message : String(e) });
    }
  });
}
