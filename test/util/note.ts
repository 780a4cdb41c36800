/**
 * Figures a test shows a person (compile times, deploy timings): written to stderr, so that stdout
 * stays the reporter's alone and `mocha --reporter json` still prints one parseable document.
 */
export function note(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : text + '\n');
}
