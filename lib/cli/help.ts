/**
 * The help texts of the `femto` commands (`femto CMD --help`, `femto help CMD`). They live apart
 * from the commands' code so that asking for help loads none of it: a command's module brings the
 * VM, the compiler, CoAP, CBOR or the board with it, and main.ts loads it only to run the command.
 * This module itself is loaded only when help is asked for; the help of sim and device lists the
 * board profiles and hooks, whose modules are loaded only for that.
 */
import { DEFAULT_BUDGET } from '../../vm/limits';

// Digits grouped by hand: toLocaleString would wake ICU, tens of milliseconds of start-up.
const BUDGET = String(DEFAULT_BUDGET).replace(/\B(?=(\d{3})+$)/g, ',');

const RUN = `usage: femto run FILE [--mem HEX | --mem-file F] [--budget N] [--profile P]
                      [--entry NAME] [--tier interp|compiled|auto] [--json] [--check]

Verify and run a program once: prints r0, the number of instructions executed and any fault.
Exit status: 0 ran to exit, 1 rejected or faulted, 2 bad input.

      --mem HEX       memory for the program, as hex bytes ("01 02 ff" or "0102ff"): r1 points
                      at a writable copy, r2 holds its length. Default: a .data vector's own mem
      --mem-file F    the same from a file: raw bytes, or hex text for a .hex / .txt file
      --budget N      instruction budget (default ${BUDGET})
      --profile P     rfc9669 (default) or riot-2022 (RIOT's 2022 VM: 200 taken branches,
                      division by zero faults)
      --entry NAME    start at an exported function (images), a label (assembly) or an index
      --helpers LIST  narrow the granted helper ids (see femto verify --help)
      --tier T        execution tier: interp, compiled or auto (default: auto —
                      interpreter first, WebAssembly once the run is hot)
      --json          one JSON object: {"r0":"0x…","insns":N,"fault":null|{code,pc,message}}
      --check         exit 1 when a .data vector's expected result differs
      --format F      force the input kind: image, elf, asm, data, raw, hex, c
      -O -I -D --clang  for C sources: as for femto build
  -h, --help          this help`;

const VERIFY = `usage: femto verify FILE [--profile rfc9669|riot-2022] [--helpers LIST] [--json]

Check a program the way a board does before attaching it: length, registers, jump targets,
helper calls (known and granted), a final exit, opcodes and their reserved fields.
Exit status: 0 accepted, 1 rejected, 2 bad input.

      --profile P     rfc9669 (default: the whole RFC 9669 instruction set) or riot-2022
                      (what RIOT's 2022 femto-container VM on a real board accepts)
      --helpers LIST  granted helper ids or names, comma-separated (e.g. 1,2,0x10 or
                      printf,memcpy; "none" for none). Default: all of RIOT's helpers
                      (and helper 5 for conformance .data vectors)
      --json          one JSON object: {"ok":true} or {"ok":false,"code":…,"pc":…,"rule":…,"message":…}
      --format F      force the input kind: image, elf, asm, data, raw, hex, c
      -O -I -D --clang  for C sources: as for femto build
  -h, --help          this help`;

const DISASM = `usage: femto disasm FILE [--bytes] [--asm] [--format F]

Disassemble a program: a RIOT image, an ELF object, C source (compiled with clang), a
conformance .data vector, assembly, hex or raw bytecode. The listing numbers instructions
(pc); jumps show their absolute target. Images show their sections and exported functions.

      --bytes        show each instruction's bytes
      --asm          plain assembly with labels (re-assembles to the same bytes with femto asm)
      --format F     force the input kind: image, elf, asm, data, raw, hex, c
      -O -I -D --clang for C sources: as for femto build
  -h, --help         this help`;

const ASM = `usage: femto asm FILE [-o OUT] [--image] [--name NAME] [--format asm|data|hex]

Assemble eBPF assembly (the bpf_conformance syntax: mov %r0, 1 / ldxw %r2, [%r1+4] / exit)
into raw bytecode, or into a RIOT femto-container image with --image.

  -o, --output OUT   output file (default: FILE with .bin; "-" for stdout)
      --image        write a RIOT "rBPF" image instead of raw bytecode
      --name NAME    name of the image's exported function (default: the file's stem, or main)
      --format F     treat FILE as asm, data (a conformance vector) or hex
  -h, --help         this help`;

const BUILD = `usage: femto build FILE [-o OUT] [-O LEVEL] [-I DIR]... [-D NAME[=VALUE]]...

Build a RIOT femto-container image ("rBPF", as RIOT's gen_rbf.py makes them) from C source
(clang -target bpf), an eBPF ELF object (.o), assembly or bytecode, and check it with the
verifier.

  -o, --output OUT    output file (default: FILE with .bin; "-" for stdout)
  -O LEVEL            clang optimisation: 0, 1, 2 (default), 3, s, z
  -I DIR              extra include directory (repeatable)
  -D NAME[=VALUE]     preprocessor definition (repeatable)
      --clang PATH    the clang binary (default: $FEMTO_CLANG or clang)
      --name NAME     function name for an image made from assembly or bytecode
      --profile P     verifier profile for the check: rfc9669 (default) or riot-2022
      --helpers LIST  helper ids granted for the check (default: RIOT's helpers)
      --format F      force the input kind: c, elf, asm, data, raw, hex, image
      --no-return     set RIOT's "no return" flag (0x0100) in the image: a container that
                      never exits (riot-2022 then skips the final-exit check and the
                      200 taken-branch budget, as RIOT does)
  -h, --help          this help`;

const PLUGIN = `usage: femto plugin [MEM] [--profile P] [--budget N]  < program.hex

The bpf_conformance plugin protocol: reads the program as hex bytes (one line) on stdin,
runs it with MEM (hex bytes) as writable memory (r1 = address, r2 = length) and helper 5
(identity), prints r0 in hex and exits 0; on a rejection or fault prints the error and
exits 1.

      --profile P    rfc9669 (default) or riot-2022
      --budget N     instruction budget (default ${BUDGET})
  -h, --help         this help`;

const KEYGEN = `usage: femto keygen -o NAME [--force]

Make an Ed25519 key pair for signing container updates (SUIT manifests).
Writes NAME.key (private, PKCS#8 PEM, readable by you only) and NAME.pub (public, PEM).
Give NAME.key to femto sign / femto deploy, NAME.pub to femto device --key (or, for a
real RIOT board, the printed C array to its public_key.h).
Exit status: 0 written, 2 bad input.

  -o, --output NAME   base name of the key files (required)
      --force         overwrite existing key files
  -h, --help          this help`;

const SIGN = `usage: femto sign IMAGE --seq N --key K [--slot S] [-o OUT] [--uri URL]
                  [--board B | --class-id UUID] [--vendor DOMAIN|UUID] [--image-out F] [--json]

Write a signed SUIT manifest (CBOR, draft-ietf-suit-manifest-09 as RIOT parses it) that tells
a board to fetch IMAGE from URL, check it and install it into storage slot .ram.S.
Exit status: 0 written, 2 bad input.

      --seq N         sequence number (required): the board installs only numbers above
                      the highest it has installed (no rollback, no replay)
      --key K         private key file (femto keygen's NAME.key, or a PKCS#8 PEM Ed25519 key)
      --slot S        storage slot (default 0: ".ram.0")
  -o, --output OUT    manifest file (default: IMAGE with extension .suit)
      --uri URL       where the board fetches the image (default coap://127.0.0.1/<IMAGE name>)
      --board B       the board's RIOT name, for its class id (default nrf52840dk)
      --class-id UUID the class id itself (16 bytes hex, dashes optional)
      --vendor V      vendor domain or UUID (default riot-os.org, as RIOT)
      --image-out F   write the image the manifest covers (when IMAGE is not a RIOT image yet)
      --format F      force the input kind: image, elf, asm, data, raw, hex, c
      --json          print the manifest's fields as JSON
  -h, --help          this help`;

const DEPLOY = `usage: femto deploy IMAGE --to coap://HOST:PORT [--to ...] --key K [--slot S] [--seq N]
                    [--board B | --class-id UUID] [--host ADDR] [--timeout S] [--json] [--quiet]

Sign IMAGE for each board, serve it over CoAP, tell each board to fetch it (POST /suit/trigger),
and wait until each board reports it installed or refused. Boards are updated in parallel.
Exit status: 0 installed everywhere, 1 not installed on some board, 2 bad input.

      --to URL        a board: coap://HOST:PORT (repeatable, or comma-separated)
      --key K         private key file (femto keygen's NAME.key)
      --slot S        storage slot (default 0: ".ram.0")
      --seq N         sequence number (default: each board's current one + 1)
      --board B       board name for the class id (default: asked from each board)
      --class-id UUID class id for every board
      --vendor V      vendor domain or UUID (default riot-os.org)
      --host ADDR     address of this machine the boards fetch from (default 127.0.0.1 when
                      every board is local; needed otherwise)
      --port N        UDP port to serve from (default: a free one)
      --timeout S     seconds to wait for each board (default 30)
      --json          print the outcomes as one JSON array
      --quiet         no progress lines
      --format F      force the input kind: image, elf, asm, data, raw, hex, c
  -h, --help          this help`;

async function simHelp(): Promise<string> {
  const [{ PROFILE_NAMES: profiles }, { HOOKS: hooks }] = await Promise.all([import('../board/profiles'), import('../board/hooks')]);
  return `usage: femto sim FILE --board PROFILE --hook HOOK [hook options] [--events N]
                [--interval MS] [--virtual-clock] [--json]

Install a container on an emulated board, fire N events of its hook and print every run: r0,
fault, console lines and the estimated run time on the board's MCU.
Exit status: 0 no fault, 1 rejected or a run faulted, 2 bad input.

      --board P        ${profiles.join(', ')} (default nrf52840dk)
      --hook H         ${hooks.join(', ')}
      --events N       events to fire (default 1)
      --interval MS    board time between events (default 1000)
      --virtual-clock  virtual board time: no waiting, wake-ups of suspended containers run in
                       time order between events (default: the wall clock, really waiting)
      --json           one JSON object per line ("type": event, run, coap, skipped, summary)
  hook options
      --device REF     sensor/button hooks (and --value): a SAUL device name or index
      --value V[,V…]   sensor values, one per event (the last repeats), e.g. 22.5,26,30
      --payload TEXT   flow and coap hooks: the message payload
      --payload-hex H  the same as hex bytes
      --msg JSON       flow: a whole message, turned into bytes as the femto-container node
                       does (numbers as int64, number arrays as int32[], objects as JSON text)
      --input PROP     with --msg: the node's input property (default payload), a path such
                       as payload.samples or payload["a b"]
      --method M       coap: GET (default), POST, PUT, DELETE, …
      --path P         coap: the resource path (default /)
  container options
      --budget N       instructions per run slice (default 1,000,000)
      --profile P      rfc9669 or riot-2022 (default: riot-2022 on MCU boards, rfc9669 on native)
      --helpers LIST   requested helpers (ids or names), intersected with the hook's contract
      --entry NAME     exported function to start at (default: the first instruction, as RIOT)
      --format F       force the input kind: image, elf, asm, data, raw, hex, c
      -O, -I, -D, --clang  for C sources, as for femto build
  -h, --help           this help`;
}

async function deviceHelp(): Promise<string> {
  const { PROFILE_NAMES: profiles } = await import('../board/profiles');
  return `usage: femto device [--profile P] [--host ADDR] [--port N] [--key trusted.pub]...
                    [--state DIR] [--name NAME] [--block-size B] [--quiet]

Run an emulated board that a host reaches over CoAP (UDP), like a RIOT board running the
femto-container SUIT example: POST /suit/trigger with a manifest URL installs a signed
container image into a slot (.ram.0, .ram.1), POST /bpf/exec/N runs slot N, GET /riot/board
names the board, GET /femto/status reports images, sequence numbers, faults and stores.
Stops on Ctrl-C (SIGINT) or SIGTERM. Exit status: 0 stopped, 2 bad input.

      --profile P     board profile: ${profiles.join(', ')} (default nrf52840dk)
      --host ADDR     address to listen on (default 127.0.0.1)
      --port N        UDP port (default 5683; 0 picks a free one, printed when ready)
      --key F         trusted public key (repeatable); updates signed by others are refused
      --state DIR     keep installed images, sequence numbers and keys in DIR across restarts
      --name NAME     board name in the status (default: the profile)
      --block-size B  block size of the device's downloads: 16 … 1024 (default 64, as RIOT)
      --vendor V      vendor domain or UUID (default riot-os.org)
      --class-id UUID class id (default: derived from the board's RIOT name)
      --quiet         print only the ready line
  -h, --help          this help`;
}

const HELP: Record<string, () => string | Promise<string>> = {
  run: () => RUN,
  verify: () => VERIFY,
  disasm: () => DISASM,
  asm: () => ASM,
  build: () => BUILD,
  plugin: () => PLUGIN,
  sim: simHelp,
  device: deviceHelp,
  keygen: () => KEYGEN,
  sign: () => SIGN,
  deploy: () => DEPLOY,
};

/** The help text of a command, or undefined for a name that is no command. */
export async function commandHelp(command: string): Promise<string | undefined> {
  return Object.prototype.hasOwnProperty.call(HELP, command) ? HELP[command]() : undefined;
}
