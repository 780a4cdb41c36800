/**
 * SUIT manifests in the draft-ietf-suit-manifest-09 form RIOT 2022 parses (sys/suit, the
 * suit_femtocontainer example) and RIOT's suit-tool writes: build, sign, parse, verify.
 *
 *   SUIT_Envelope = {                                   ; untagged map (a 107 tag is tolerated)
 *     2: bstr .cbor [ + bstr .cbor COSE_Sign1_Tagged ], ; authentication wrapper
 *     3: bstr .cbor SUIT_Manifest }
 *   COSE_Sign1 payload = bstr .cbor [ 2, h'sha256(manifest)' ]  ; 2 = sha256 in draft-09
 *     where the hash covers the manifest *as encoded in the envelope*: the bstr head and its
 *     content (RIOT hashes nanocbor_get_subcbor of key 3; suit-tool hashes cbor.dumps(bytes)).
 *   SUIT_Manifest = {
 *     1: 1,                                             ; manifest version
 *     2: seq,                                           ; sequence number (anti-rollback)
 *     3: bstr .cbor {                                   ; common
 *          2: [ [ h'ram', h'0' ] ],                     ; one component: RIOT names it ".ram.0"
 *          4: bstr .cbor [                              ; shared sequence
 *               20, { 1: vendor-id, 2: class-id, 3: bstr .cbor [2, h'digest'], 14: size },
 *               1, 15,  2, 15 ] },                      ; check vendor, check class
 *     9: bstr .cbor [ 19, { 21: "coap://…/image" }, 21, 2, 3, 15 ],  ; install: uri, fetch, match
 *     10: bstr .cbor [ 3, 15 ] }                        ; validate: image match
 *
 * No run section (12): RIOT 2022's manifest handler table ends at validate (10) and answers any
 * other key "unsupported", so a manifest with one would be refused by a real board. For the same
 * reason the parser refuses keys and commands RIOT does not handle: what verifies here, a RIOT
 * board accepts.
 *
 * Verification order follows RIOT: signature (each auth block against each trusted key), the
 * manifest's digest against the signed one, version, sequence number, component, vendor and class
 * conditions, size against the slot; the image's digest and size are checked once fetched
 * (`verifyImage`). Every failure is a `ManifestError` whose `check` names what failed.
 */
import { createHash } from 'node:crypto';
import { asArray, asBytes, asInt, asMap, asText, bstrCbor, CborError, decode, encode, Tag } from './cbor';
import { CoseError, decodeSign1, signSign1, verifySign1 } from './cose';
import { formatUuid } from './ids';

// ---- CBOR keys (draft-ietf-suit-manifest-09; RIOT's sys/include/suit/handlers.h) -------------

export const SUIT_ENVELOPE_TAG = 107;
export const ENVELOPE_AUTH = 2;
export const ENVELOPE_MANIFEST = 3;
export const MANIFEST_VERSION = 1;
export const MANIFEST_SEQ = 2;
export const MANIFEST_COMMON = 3;
export const MANIFEST_INSTALL = 9;
export const MANIFEST_VALIDATE = 10;
export const COMMON_COMPONENTS = 2;
export const COMMON_SEQUENCE = 4;
export const COND_VENDOR = 1;
export const COND_CLASS = 2;
export const COND_IMAGE_MATCH = 3;
export const DIR_SET_COMPONENT_INDEX = 12;
export const DIR_SET_PARAMS = 19;
export const DIR_OVERRIDE_PARAMS = 20;
export const DIR_FETCH = 21;
export const PARAM_VENDOR = 1;
export const PARAM_CLASS = 2;
export const PARAM_DIGEST = 3;
export const PARAM_SIZE = 14;
export const PARAM_URI = 21;
/** suit-tool's draft-09 digest algorithm id for SHA-256; later drafts use COSE's -16. */
export const DIGEST_SHA256 = 2;
export const COSE_SHA256 = -16;
/** Reporting policy suit-tool puts after conditions (0xF) and directives (0x2). */
const POLICY_COND = 15;
const POLICY_DIR = 2;

export const SUIT_VERSION = 1;
/** RIOT reads the sequence number as int32. */
export const MAX_SEQ = 0x7fffffff;

// ---- errors -----------------------------------------------------------------------------------

export type ManifestCheck = 'format' | 'signature' | 'sequence' | 'vendor' | 'class' | 'slot' | 'size' | 'digest';

export class ManifestError extends Error {
  constructor(readonly check: ManifestCheck, message: string) {
    super(message);
    this.name = 'ManifestError';
  }
  toJSON(): Record<string, unknown> {
    return { check: this.check, message: this.message };
  }
}

function formatError(e: unknown): never {
  if (e instanceof CborError) throw new ManifestError('format', e.message);
  throw e;
}

// ---- building ---------------------------------------------------------------------------------

export interface ManifestSpec {
  /** Sequence number, 0 … 2^31−1; a device accepts only numbers above its current one. */
  seq: number;
  /** Storage slot N, named [ "ram", "N" ] (RIOT: ".ram.N"); or give `component` directly. */
  slot?: number;
  component?: readonly string[];
  vendorId: Uint8Array;
  classId: Uint8Array;
  /** The image: its SHA-256 and size go into the manifest. */
  image: Uint8Array;
  /** Where the device fetches the image (coap://host:port/path). */
  uri: string;
}

export interface ManifestInfo {
  version: number;
  seq: number;
  /** Component identifier parts as text, e.g. ["ram", "0"]. */
  component: string[];
  /** RIOT's storage location string, e.g. ".ram.0". */
  location: string;
  /** The RAM slot number when the component is a `.ram.N` location. */
  slot?: number;
  vendorId: Uint8Array;
  classId: Uint8Array;
  digestAlg: number;
  digest: Uint8Array;
  size: number;
  uri: string;
}

export function sha256(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(b).digest());
}

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

function componentOf(spec: Pick<ManifestSpec, 'slot' | 'component'>): string[] {
  if (spec.component) return [...spec.component];
  if (spec.slot === undefined || !Number.isInteger(spec.slot) || spec.slot < 0) throw new RangeError('a manifest needs a slot (integer ≥ 0) or a component');
  return ['ram', String(spec.slot)];
}

/** The manifest (SUIT_Manifest map) bytes, unsigned. */
export function buildManifest(spec: ManifestSpec): Uint8Array {
  if (!Number.isInteger(spec.seq) || spec.seq < 0 || spec.seq > MAX_SEQ) throw new RangeError(`sequence number ${spec.seq} is not an integer in 0…${MAX_SEQ}`);
  if (spec.vendorId.length !== 16 || spec.classId.length !== 16) throw new RangeError('vendor and class ids are 16-byte UUIDs');
  if (!/^coap:\/\//.test(spec.uri)) throw new RangeError(`image URI "${spec.uri}" is not a coap:// URL`);
  const component = componentOf(spec).map(utf8);
  const digest = encode([DIGEST_SHA256, sha256(spec.image)]);
  const common = new Map<number, unknown>([
    [COMMON_COMPONENTS, [component]],
    [COMMON_SEQUENCE, encode([
      DIR_OVERRIDE_PARAMS, new Map<number, unknown>([[PARAM_VENDOR, spec.vendorId], [PARAM_CLASS, spec.classId], [PARAM_DIGEST, digest], [PARAM_SIZE, spec.image.length]]),
      COND_VENDOR, POLICY_COND,
      COND_CLASS, POLICY_COND,
    ])],
  ]);
  const install = [DIR_SET_PARAMS, new Map([[PARAM_URI, spec.uri]]), DIR_FETCH, POLICY_DIR, COND_IMAGE_MATCH, POLICY_COND];
  const validate = [COND_IMAGE_MATCH, POLICY_COND];
  return encode(new Map<number, unknown>([
    [MANIFEST_VERSION, SUIT_VERSION],
    [MANIFEST_SEQ, spec.seq],
    [MANIFEST_COMMON, encode(common)],
    [MANIFEST_INSTALL, encode(install)],
    [MANIFEST_VALIDATE, encode(validate)],
  ]));
}

/** The SUIT_Digest the signature covers: SHA-256 over the manifest as a bstr item. */
export function manifestDigest(manifest: Uint8Array): Uint8Array {
  return encode([DIGEST_SHA256, sha256(encode(manifest))]);
}

/** Wrap manifest bytes into a signed envelope (one COSE_Sign1 per key, RIOT accepts any). */
export function signManifest(manifest: Uint8Array, secretKeys: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const keys = secretKeys instanceof Uint8Array ? [secretKeys] : secretKeys;
  const payload = manifestDigest(manifest);
  const auth = encode(keys.map((k) => signSign1(payload, k)));
  return encode(new Map<number, unknown>([[ENVELOPE_AUTH, auth], [ENVELOPE_MANIFEST, manifest]]));
}

/** Build and sign in one step. */
export function createEnvelope(spec: ManifestSpec, secretKey: Uint8Array | readonly Uint8Array[]): Uint8Array {
  return signManifest(buildManifest(spec), secretKey);
}

// ---- parsing ----------------------------------------------------------------------------------

export interface ParsedEnvelope {
  /** Each auth block: the COSE_Sign1 bytes. */
  authBlocks: Uint8Array[];
  /** The manifest map bytes (content of envelope key 3). */
  manifestBytes: Uint8Array;
  manifest: ManifestInfo;
}

/** Split an envelope and parse its manifest (format checks only, no signature check). */
export function parseEnvelope(bytes: Uint8Array): ParsedEnvelope {
  const env = splitEnvelope(bytes);
  return { ...env, manifest: parseManifest(env.manifestBytes) };
}

interface Params {
  vendor?: Uint8Array;
  class?: Uint8Array;
  digest?: Uint8Array;
  size?: number;
  uri?: string;
}

interface SequenceFacts {
  conditions: Set<number>;
  fetched: boolean;
  matchedAfterFetch: boolean;
}

/** Walk one command sequence the way RIOT's handlers do (single component, index 0). */
function runSequence(seqBytes: unknown, what: string, params: Params, facts: SequenceFacts): void {
  const seq = asArray(bstrCbor(seqBytes, what), what);
  if (seq.length % 2 !== 0) throw new ManifestError('format', `${what} has an odd number of items (command/argument pairs expected)`);
  for (let i = 0; i < seq.length; i += 2) {
    const cmd = asInt(seq[i], `${what} command`);
    const arg = seq[i + 1];
    switch (cmd) {
      case COND_VENDOR:
      case COND_CLASS:
        facts.conditions.add(cmd);
        break;
      case COND_IMAGE_MATCH:
        facts.conditions.add(cmd);
        if (facts.fetched) facts.matchedAfterFetch = true;
        break;
      case DIR_SET_COMPONENT_INDEX:
        if (!(arg === 0 || arg === true)) throw new ManifestError('format', `${what}: component index ${String(arg)} (one component supported, as RIOT)`);
        break;
      case DIR_SET_PARAMS:
      case DIR_OVERRIDE_PARAMS:
        for (const [k, v] of asMap(arg, `${what} parameters`)) {
          const key = asInt(k, `${what} parameter key`);
          switch (key) {
            case PARAM_VENDOR: params.vendor = asBytes(v, 'vendor-id'); break;
            case PARAM_CLASS: params.class = asBytes(v, 'class-id'); break;
            case PARAM_DIGEST: params.digest = asBytes(v, 'image-digest'); break;
            case PARAM_SIZE: params.size = asInt(v, 'image-size'); break;
            case PARAM_URI: params.uri = asText(v, 'uri'); break;
            default: throw new ManifestError('format', `${what}: parameter ${key} is not supported`);
          }
        }
        break;
      case DIR_FETCH:
        if (facts.fetched) throw new ManifestError('format', `${what}: the component is fetched twice`);
        facts.fetched = true;
        break;
      default:
        throw new ManifestError('format', `${what}: command ${cmd} is not supported by RIOT's SUIT handlers`);
    }
  }
}

/** Parse the manifest map (no authentication: see `verifyEnvelope`). */
export function parseManifest(bytes: Uint8Array): ManifestInfo {
  try {
    const m = asMap(decode(bytes, 'manifest'), 'manifest');
    const allowed = [MANIFEST_VERSION, MANIFEST_SEQ, MANIFEST_COMMON, MANIFEST_INSTALL, MANIFEST_VALIDATE];
    for (const k of m.keys()) {
      if (!allowed.includes(k as number)) throw new ManifestError('format', `manifest key ${String(k)} is not supported by RIOT 2022 (it handles 1, 2, 3, 9, 10)`);
    }
    const version = asInt(m.get(MANIFEST_VERSION), 'manifest version');
    const seq = asInt(m.get(MANIFEST_SEQ), 'manifest sequence number');
    if (seq < 0 || seq > MAX_SEQ) throw new ManifestError('format', `sequence number ${seq} is outside 0…${MAX_SEQ}`);
    const common = asMap(bstrCbor(m.get(MANIFEST_COMMON), 'common section'), 'common section');
    for (const k of common.keys()) {
      if (k !== COMMON_COMPONENTS && k !== COMMON_SEQUENCE) throw new ManifestError('format', `common section key ${String(k)} is not supported (no dependencies)`);
    }
    const comps = asArray(common.get(COMMON_COMPONENTS), 'components');
    if (comps.length !== 1) throw new ManifestError('format', `the manifest has ${comps.length} components; RIOT supports exactly one`);
    const component = asArray(comps[0], 'component identifier').map((p) => Buffer.from(asBytes(p, 'component identifier part')).toString('utf8'));
    const location = component.map((p) => '.' + p).join('');
    const slotMatch = component.length === 2 && component[0] === 'ram' && /^\d{1,5}$/.test(component[1]) ? Number(component[1]) : undefined;
    const params: Params = {};
    const facts: SequenceFacts = { conditions: new Set(), fetched: false, matchedAfterFetch: false };
    if (common.has(COMMON_SEQUENCE)) runSequence(common.get(COMMON_SEQUENCE), 'shared sequence', params, facts);
    if (!m.has(MANIFEST_INSTALL)) throw new ManifestError('format', 'the manifest has no install section (nothing to fetch)');
    runSequence(m.get(MANIFEST_INSTALL), 'install section', params, facts);
    if (m.has(MANIFEST_VALIDATE)) runSequence(m.get(MANIFEST_VALIDATE), 'validate section', params, { conditions: new Set(), fetched: true, matchedAfterFetch: false });
    if (!facts.conditions.has(COND_VENDOR) || !params.vendor) throw new ManifestError('vendor', 'the manifest does not check a vendor id (RIOT\'s policy requires it)');
    if (!facts.conditions.has(COND_CLASS) || !params.class) throw new ManifestError('class', 'the manifest does not check a class id (RIOT\'s policy requires it)');
    if (!facts.fetched || !params.uri) throw new ManifestError('format', 'the install section does not fetch the image from a URI');
    if (!facts.matchedAfterFetch || !params.digest) throw new ManifestError('digest', 'the manifest never checks the fetched image against a digest');
    if (params.size === undefined) throw new ManifestError('size', 'the manifest gives no image size');
    if (params.size < 0 || params.size > 0xffffffff) throw new ManifestError('size', `image size ${params.size} is out of range`);
    const dg = asArray(bstrCbor(params.digest, 'image digest'), 'image digest');
    if (dg.length !== 2) throw new ManifestError('format', 'the image digest must be [algorithm, bytes]');
    const digestAlg = asInt(dg[0], 'digest algorithm');
    if (digestAlg !== DIGEST_SHA256 && digestAlg !== COSE_SHA256) throw new ManifestError('digest', `digest algorithm ${digestAlg} is not SHA-256`);
    const digest = asBytes(dg[1], 'digest bytes');
    if (digest.length !== 32) throw new ManifestError('digest', `a SHA-256 digest has 32 bytes, not ${digest.length}`);
    return {
      version, seq, component, location, slot: slotMatch,
      vendorId: params.vendor, classId: params.class, digestAlg, digest, size: params.size, uri: params.uri,
    };
  } catch (e) {
    return formatError(e);
  }
}

// ---- verification -----------------------------------------------------------------------------

export interface VerifyPolicy {
  /** Trusted Ed25519 public keys (RIOT: the keys compiled into the firmware). */
  trustedKeys: readonly Uint8Array[];
  vendorId: Uint8Array;
  classId: Uint8Array;
  /** The device's current (highest installed) sequence number: the manifest's must be greater. */
  currentSeq: number;
  /** Number of RAM slots (`.ram.0` … `.ram.N-1`) and the bytes each holds. */
  slotCount: number;
  slotSize: number;
}

export interface VerifiedManifest extends ManifestInfo {
  slot: number;
  /** Which trusted key verified the signature. */
  keyIndex: number;
}

const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Authenticate and check a manifest against a device's policy; throws ManifestError. */
export function verifyEnvelope(bytes: Uint8Array, policy: VerifyPolicy): VerifiedManifest {
  const env = splitEnvelope(bytes);
  let payload: Uint8Array | undefined;
  let keyIndex = -1;
  let lastError: CoseError | undefined;
  for (const block of env.authBlocks) {
    try {
      const r = verifySign1(block, policy.trustedKeys);
      payload = r.payload;
      keyIndex = r.keyIndex;
      break;
    } catch (e) {
      if (!(e instanceof CoseError)) throw e;
      if (e.reason === 'format') throw new ManifestError('format', `authentication block: ${e.message}`);
      lastError = e;
    }
  }
  if (!payload) throw new ManifestError('signature', lastError?.message ?? 'no valid signature');
  if (!eq(payload, manifestDigest(env.manifestBytes))) {
    throw new ManifestError('signature', 'the manifest was changed after signing: its SHA-256 differs from the signed digest');
  }
  const m = parseManifest(env.manifestBytes);
  if (m.version !== SUIT_VERSION) throw new ManifestError('format', `manifest version ${m.version} (RIOT supports ${SUIT_VERSION})`);
  if (m.seq <= policy.currentSeq) {
    throw new ManifestError('sequence', m.seq === policy.currentSeq
      ? `sequence number ${m.seq} is the installed one (replayed manifest)`
      : `sequence number ${m.seq} is lower than the installed ${policy.currentSeq} (rollback refused)`);
  }
  if (m.slot === undefined || m.slot >= policy.slotCount) {
    throw new ManifestError('slot', `component ${m.location} is not a storage slot of this device (.ram.0${policy.slotCount > 1 ? ` … .ram.${policy.slotCount - 1}` : ''})`);
  }
  if (!eq(m.vendorId, policy.vendorId)) throw new ManifestError('vendor', `vendor id ${formatUuid(m.vendorId)} is not this device's ${formatUuid(policy.vendorId)}`);
  if (!eq(m.classId, policy.classId)) throw new ManifestError('class', `class id ${formatUuid(m.classId)} is not this device's ${formatUuid(policy.classId)}`);
  if (m.size > policy.slotSize) throw new ManifestError('size', `image of ${m.size} B does not fit the ${policy.slotSize} B slot ${m.location}`);
  if (m.size === 0) throw new ManifestError('size', 'the image is empty');
  return { ...m, slot: m.slot, keyIndex };
}

/**
 * The envelope's parts, without looking into the manifest body: a verifier checks the signature
 * before it parses anything the signer wrote.
 */
export function splitEnvelope(bytes: Uint8Array): { authBlocks: Uint8Array[]; manifestBytes: Uint8Array } {
  try {
    let top = decode(bytes, 'SUIT envelope');
    if (top instanceof Tag && top.tag === SUIT_ENVELOPE_TAG) top = top.value;
    const env = asMap(top, 'SUIT envelope');
    for (const k of env.keys()) {
      if (k !== ENVELOPE_AUTH && k !== ENVELOPE_MANIFEST) throw new ManifestError('format', `SUIT envelope key ${String(k)} is not supported (RIOT handles 2 and 3 only)`);
    }
    if (!env.has(ENVELOPE_AUTH)) throw new ManifestError('signature', 'the envelope has no authentication wrapper (unsigned manifest)');
    if (!env.has(ENVELOPE_MANIFEST)) throw new ManifestError('format', 'the envelope has no manifest (key 3)');
    const authBlocks = asArray(bstrCbor(env.get(ENVELOPE_AUTH), 'authentication wrapper'), 'authentication wrapper').map((b, i) => asBytes(b, `authentication block ${i}`));
    if (authBlocks.length === 0) throw new ManifestError('signature', 'the authentication wrapper holds no signature');
    for (const b of authBlocks) decodeSign1Checked(b);
    return { authBlocks, manifestBytes: asBytes(env.get(ENVELOPE_MANIFEST), 'manifest') };
  } catch (e) {
    return formatError(e);
  }
}

function decodeSign1Checked(b: Uint8Array): void {
  try {
    decodeSign1(b);
  } catch (e) {
    if (e instanceof CoseError) throw new ManifestError('format', `authentication block: ${e.message}`);
    throw e;
  }
}

/** Check a fetched image against its manifest: size, then SHA-256. */
export function verifyImage(m: Pick<ManifestInfo, 'size' | 'digest' | 'location'>, image: Uint8Array): void {
  if (image.length !== m.size) throw new ManifestError('size', `the image has ${image.length} B, the manifest says ${m.size} B`);
  const d = sha256(image);
  if (!eq(d, m.digest)) throw new ManifestError('digest', `image SHA-256 ${hex(d).slice(0, 16)}… does not match the manifest's ${hex(m.digest).slice(0, 16)}…`);
}

/** A plain, JSON-friendly view of a manifest (hex digests, dashed UUIDs). */
export function describeManifest(m: ManifestInfo): Record<string, unknown> {
  return {
    version: m.version, seq: m.seq, component: m.component, location: m.location, slot: m.slot,
    vendorId: formatUuid(m.vendorId), classId: formatUuid(m.classId), digest: hex(m.digest), size: m.size, uri: m.uri,
  };
}
