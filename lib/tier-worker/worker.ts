/**
 * The compile worker's thread: translates programs to WebAssembly (vm/wasm-compiler) off the host's
 * event loop. Messages: { id, text, opts } in, { id, mod } or { id, error } out.
 */
import { parentPort } from 'node:worker_threads';
import { Program } from '../../vm/program';
import { compileToWasm, type CompileOptions } from '../../vm/wasm-compiler';

export interface TranslateRequest { id: number; text: Uint8Array; opts: CompileOptions }

parentPort?.on('message', (req: TranslateRequest) => {
  try {
    const mod = compileToWasm(new Program(req.text), req.opts);
    parentPort!.postMessage({ id: req.id, mod }, [mod.bytes.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: req.id, error: e instanceof Error ? e.message : String(e) });
  }
});
