/**
 * Compile-sandbox attacks the soak sends to a running Node-RED's Verify endpoint (POST
 * /femto/verify) while containers spin: sources that try to make clang read a host file (a secret
 * the soak writes, with a random marker) through includes, assembly, and text the guard could read
 * differently from clang (comments, splices, skipped blocks, directives). Every reply must be
 * well-formed, none may carry the marker, and one honest compile in each round must still succeed
 * (the compile queue is not wedged by the attacks).
 */

export interface SandboxAttack {
  what: string;
  source: string;
  /** True when the source really names the secret in a way clang would read: it must be refused. */
  mustRefuse: boolean;
}

export const HONEST_C = '#include "femto.h"\n\nint64_t main(void *ctx)\n{\n    (void)ctx;\n    return 42;\n}\n';

export function sandboxAttacks(secret: string): SandboxAttack[] {
  const q = JSON.stringify(secret); // a C string literal of the path
  const asmQ = JSON.stringify(`.incbin "${secret}"`);
  const main = '\nint64_t main(void *ctx) { (void)ctx; return 0; }\n';
  return [
    { what: '#warning hides a comment opener from a text scan', mustRefuse: true,
      source: `#warning /*\n__asm__(".section .text.leak,\\"ax\\"\\n.incbin \\"${secret}\\"\\n");\n// */${main}` },
    { what: '#include of the secret', mustRefuse: true, source: `#include ${q}${main}` },
    { what: 'secret as array initialiser', mustRefuse: true, source: `static const char s[] = {\n#include ${q}\n};${main}` },
    { what: '.incbin in top-level asm', mustRefuse: true, source: `__asm__(${asmQ});${main}` },
    { what: '.incbin in inline asm', mustRefuse: true, source: `int64_t main(void *ctx) { (void)ctx; __asm__ volatile(${asmQ}); return 0; }\n` },
    { what: 'include behind a line splice', mustRefuse: true, source: `#inc\\\nlude ${q}${main}` },
    { what: 'include through a macro', mustRefuse: true, source: `#define F ${q}\n#include F${main}` },
    { what: '/etc/passwd through ../ from the include folder', mustRefuse: true, source: `#include "../../../../../../../../etc/passwd"${main}` },
    { what: 'include inside a skipped block (harmless either way)', mustRefuse: false, source: `#if 0\n#include ${q}\n#endif${main}` },
    { what: 'include inside a spliced // comment (harmless either way)', mustRefuse: false, source: `// \\\n#include ${q}${main}` },
    { what: 'include inside a string (harmless either way)', mustRefuse: false, source: `static const char *p = "#include ${secret.replace(/"/g, '')}";${main}` },
  ];
}
