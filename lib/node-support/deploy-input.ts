/**
 * The image a message to femto-deploy carries, wherever the message puts it.
 */
import { fromAsm, fromBytes, programFromMessage } from './program';
import { registry } from './registry';

/** Where femto-deploy found the image of a message. */
export type ImageSource = 'msg.image' | 'msg.filename' | 'container' | 'msg.payload';

export class NoImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoImageError';
  }
}

/**
 * The image a message to femto-deploy carries: msg.image (Buffer, base64, { asm }), a file named
 * by msg.filename (a RIOT image, ELF object, raw bytecode, or assembly text for .s/.asm), the
 * program of the femto-container node whose output this is (msg.femto.container), or msg.payload
 * (a Buffer or base64/assembly text). ELF objects and bytecode become RIOT images, as `femto build`
 * and the container node make them.
 */
export async function deployImageFromMessage(msg: Record<string, unknown>, readFile: (p: string) => Promise<Uint8Array>): Promise<{ image: Uint8Array; source: ImageSource; file?: string }> {
  if (msg.image !== undefined && msg.image !== null) return { image: programFromMessage(msg.image).image, source: 'msg.image' };
  if (typeof msg.filename === 'string' && msg.filename.trim()) {
    const file = msg.filename.trim();
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new NoImageError(`msg.filename ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
    }
    if (/\.(s|asm)$/i.test(file)) return { image: fromAsm(Buffer.from(bytes).toString('utf8')).image, source: 'msg.filename', file };
    return { image: fromBytes(bytes).image, source: 'msg.filename', file };
  }
  const p = msg.payload;
  const isProgram = p instanceof Uint8Array || p instanceof ArrayBuffer || (typeof p === 'string' && p.length > 0) || (!!p && typeof p === 'object' && !Array.isArray(p) && ('asm' in p || 'base64' in p || (p as { type?: unknown }).type === 'Buffer'));
  const femto = msg.femto as { container?: unknown } | undefined;
  if (!isProgram && femto && typeof femto.container === 'string') {
    const image = registry.containerImage(femto.container);
    if (image) return { image, source: 'container' };
    throw new NoImageError(`the femto-container ${femto.container} has no image femto-deploy can reach (it must run on an emulated board)`);
  }
  if (isProgram) return { image: programFromMessage(p).image, source: 'msg.payload' };
  throw new NoImageError('no image: send a Buffer in msg.payload or msg.image, a file path in msg.filename, or the output of a femto-container node');
}
