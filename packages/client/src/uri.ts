/**
 * PKCS#11 URIs (RFC 7512): parse, format, and find the objects a URI names. Path attributes name
 * the token and object; query attributes (pin-value, module-name…) are kept as given.
 */
import {
  CKA_CLASS, CKA_ID, CKA_LABEL, CKO_CERTIFICATE, CKO_DATA, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY,
  CKR_ARGUMENTS_BAD, Pkcs11Error,
} from '@vhsm/pkcs11';
import type { CryptokiApiV3, Template } from '@vhsm/pkcs11';

export type ObjectTypeName = 'cert' | 'data' | 'private' | 'public' | 'secret-key';

export interface Pkcs11Uri {
  token?: string;
  manufacturer?: string;
  serial?: string;
  model?: string;
  object?: string;
  type?: ObjectTypeName;
  id?: Uint8Array;
  'slot-id'?: number;
  'library-manufacturer'?: string;
  'library-description'?: string;
  /** Path attributes this module does not interpret, in order. */
  extra?: [string, string][];
  /** Query attributes (pin-value, pin-source, module-name, module-path…). */
  query?: [string, string][];
}

const TYPE_CLASS: Readonly<Record<ObjectTypeName, number>> = {
  cert: CKO_CERTIFICATE, data: CKO_DATA, private: CKO_PRIVATE_KEY, public: CKO_PUBLIC_KEY, 'secret-key': CKO_SECRET_KEY,
};
const STRING_PATH = ['token', 'manufacturer', 'serial', 'model', 'object', 'library-manufacturer', 'library-description'] as const;
/** RFC 7512 pchar minus the separators, left unescaped when formatting. */
const UNRESERVED = /[A-Za-z0-9\-._~:[\]@!$'()*+,=&]/;

function fail(detail: string): never {
  throw new Pkcs11Error(CKR_ARGUMENTS_BAD, 'parseUri', detail);
}

function decode(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '%') {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail(`bad percent-encoding at ${i}`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(...new TextEncoder().encode(c));
    }
  }
  return Uint8Array.from(out);
}

function decodeText(text: string): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(decode(text));
}

function encode(value: string | Uint8Array, all = false): string {
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += !all && b < 0x80 && UNRESERVED.test(c) ? c : `%${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export function parseUri(uri: string): Pkcs11Uri {
  if (typeof uri !== 'string' || !uri.toLowerCase().startsWith('pkcs11:')) fail('expected a pkcs11: URI');
  const rest = uri.slice('pkcs11:'.length);
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  const out: Pkcs11Uri = {};
  const seen = new Set<string>();
  for (const part of path === '' ? [] : path.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) fail(`path attribute without a name: ${part}`);
    const name = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (seen.has(name)) fail(`${name} appears twice`);
    seen.add(name);
    if ((STRING_PATH as readonly string[]).includes(name)) {
      (out as Record<string, unknown>)[name] = decodeText(value);
    } else if (name === 'id') {
      out.id = decode(value);
    } else if (name === 'type') {
      const type = decodeText(value);
      if (!(type in TYPE_CLASS)) fail(`type: ${type}`);
      out.type = type as ObjectTypeName;
    } else if (name === 'slot-id') {
      if (!/^\d+$/.test(value)) fail('slot-id: expected a decimal number');
      out['slot-id'] = Number(value);
    } else {
      (out.extra ??= []).push([name, decodeText(value)]);
    }
  }
  for (const part of query === '' ? [] : query.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) fail(`query attribute without a name: ${part}`);
    (out.query ??= []).push([part.slice(0, eq), decodeText(part.slice(eq + 1))]);
  }
  return out;
}

export function formatUri(uri: Pkcs11Uri): string {
  const path: string[] = [];
  for (const name of ['token', 'manufacturer', 'serial', 'model', 'library-manufacturer', 'library-description'] as const) {
    const value = uri[name];
    if (value !== undefined) path.push(`${name}=${encode(value)}`);
  }
  if (uri['slot-id'] !== undefined) path.push(`slot-id=${uri['slot-id']}`);
  if (uri.object !== undefined) path.push(`object=${encode(uri.object)}`);
  if (uri.type !== undefined) path.push(`type=${uri.type}`);
  if (uri.id !== undefined) path.push(`id=${encode(uri.id, true)}`);
  for (const [name, value] of uri.extra ?? []) path.push(`${name}=${encode(value)}`);
  const query = (uri.query ?? []).map(([name, value]) => `${name}=${encode(value)}`);
  return `pkcs11:${path.join(';')}${query.length ? `?${query.join('&')}` : ''}`;
}

/** The object template a URI names (object, type, id). */
export function uriTemplate(uri: Pkcs11Uri): Template {
  const template: Template = [];
  if (uri.object !== undefined) template.push({ type: CKA_LABEL, value: uri.object });
  if (uri.type !== undefined) template.push({ type: CKA_CLASS, value: TYPE_CLASS[uri.type] });
  if (uri.id !== undefined) template.push({ type: CKA_ID, value: uri.id });
  return template;
}

/**
 * Handles of the objects `uri` names, searched with `session`, if the session's token matches the
 * URI's token attributes (otherwise none).
 */
export async function findByUri(pkcs11: CryptokiApiV3, session: number, uri: string | Pkcs11Uri): Promise<number[]> {
  const parsed = typeof uri === 'string' ? parseUri(uri) : uri;
  const { slotID } = await pkcs11.C_GetSessionInfo(session);
  if (parsed['slot-id'] !== undefined && parsed['slot-id'] !== slotID) return [];
  if (parsed.token !== undefined || parsed.manufacturer !== undefined || parsed.serial !== undefined || parsed.model !== undefined) {
    const info = await pkcs11.C_GetTokenInfo(slotID);
    if ((parsed.token !== undefined && parsed.token !== info.label)
      || (parsed.manufacturer !== undefined && parsed.manufacturer !== info.manufacturerID)
      || (parsed.serial !== undefined && parsed.serial !== info.serialNumber)
      || (parsed.model !== undefined && parsed.model !== info.model)) return [];
  }
  await pkcs11.C_FindObjectsInit(session, uriTemplate(parsed));
  try {
    const handles: number[] = [];
    for (;;) {
      const batch = await pkcs11.C_FindObjects(session, 256);
      if (batch.length === 0) return handles;
      handles.push(...batch);
    }
  } finally {
    await pkcs11.C_FindObjectsFinal(session);
  }
}
