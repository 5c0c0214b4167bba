import { utilities as dcmjsUtilities } from 'dcmjs';

/** How lmk authenticates to a DICOMweb server. */
export type DicomwebCredentials = { kind: 'basic'; user: string; password: string } | { kind: 'bearer'; token: string };

/** The environment variables credentials come from (never the command line, where `ps` would show them). */
export const CREDENTIAL_VARIABLES = { user: 'LMK_DICOMWEB_USER', password: 'LMK_DICOMWEB_PASSWORD', token: 'LMK_DICOMWEB_TOKEN' } as const;

/**
 * Credentials from LMK_DICOMWEB_USER + LMK_DICOMWEB_PASSWORD (HTTP basic) or LMK_DICOMWEB_TOKEN (bearer);
 * undefined when none is set. Throws, naming the variables only, when they are set inconsistently.
 */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): DicomwebCredentials | undefined {
  const { user, password, token } = { user: env[CREDENTIAL_VARIABLES.user], password: env[CREDENTIAL_VARIABLES.password], token: env[CREDENTIAL_VARIABLES.token] };
  if (token !== undefined && (user !== undefined || password !== undefined)) {
    throw new Error(`set either ${CREDENTIAL_VARIABLES.token} or ${CREDENTIAL_VARIABLES.user} and ${CREDENTIAL_VARIABLES.password}, not both`);
  }
  if (token !== undefined) return { kind: 'bearer', token };
  if ((user === undefined) !== (password === undefined)) throw new Error(`${CREDENTIAL_VARIABLES.user} and ${CREDENTIAL_VARIABLES.password} go together`);
  return user !== undefined ? { kind: 'basic', user, password: password! } : undefined;
}

/**
 * A failed DICOMweb request. The message is one line naming the URL (which never holds credentials) and the
 * problem. `transient` failures (no connection, timeouts, 5xx, 408, 429) were retried and may pass later;
 * the others (a 4xx, a malformed answer) will not. `access` failures (401, 403, an untrusted certificate)
 * concern every request, not the one instance.
 */
export class DicomwebError extends Error {
  override name = 'DicomwebError';
  constructor(readonly url: string, problem: string, readonly status: number | undefined, readonly transient: boolean, readonly access = false) {
    super(`${url}: ${problem}`);
  }
}

/** Where an instance is on the server. */
export interface InstanceRef {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid?: string;
  modality?: string;
}

export interface DicomwebClientOptions {
  /** The service root, e.g. https://pacs.example.org/dicom-web (http or https). */
  url: string;
  credentials?: DicomwebCredentials;
  /** Per request (default 60 s). */
  timeoutMs?: number;
  /** Retries of a transient failure (default 4), after 0.5, 1, 2, 4 s (doubling from `backoffMs`). */
  retries?: number;
  backoffMs?: number;
}

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
/** QIDO-RS answers per page. */
const PAGE = 500;

/** The text of a DICOM JSON attribute's first value (PS3.18 F.2). */
function firstValue(item: Record<string, { Value?: unknown[] } | undefined>, tag: string): string | undefined {
  const v = item[tag]?.Value?.[0];
  return typeof v === 'string' ? v : undefined;
}

/** What went wrong below HTTP, and whether waiting can help: a refused certificate stays refused. */
function networkError(url: string, err: unknown, timeoutMs: number): DicomwebError {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return new DicomwebError(url, `no answer within ${timeoutMs / 1000} s`, undefined, true);
  const cause = e.cause?.code ?? e.cause?.message ?? e.message;
  if (/CERT|SELF_SIGNED|ALTNAME|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(cause)) {
    return new DicomwebError(url, `the server's TLS certificate is not trusted (${cause}); a private CA goes in NODE_EXTRA_CA_CERTS`, undefined, false, true);
  }
  return new DicomwebError(url, `cannot connect (${cause})`, undefined, true);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A DICOMweb client (QIDO-RS search, WADO-RS retrieve, STOW-RS store) on Node's fetch: http and https alike
 * (a private CA goes in NODE_EXTRA_CA_CERTS). Transient failures are retried with doubling waits.
 */
export class DicomwebClient {
  readonly url: string;
  private readonly authorization?: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(o: DicomwebClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(o.url);
    } catch {
      throw new Error(`${o.url}: not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`${o.url}: a DICOMweb URL is http or https`);
    // The URL appears in messages and logs: credentials never go in it.
    if (parsed.username || parsed.password) {
      throw new Error(`the DICOMweb URL holds credentials; give them in ${CREDENTIAL_VARIABLES.user}/${CREDENTIAL_VARIABLES.password} or ${CREDENTIAL_VARIABLES.token}`);
    }
    this.url = parsed.toString().replace(/\/+$/, '');
    const c = o.credentials;
    if (c) this.authorization = c.kind === 'basic' ? `Basic ${Buffer.from(`${c.user}:${c.password}`, 'utf8').toString('base64')}` : `Bearer ${c.token}`;
    this.timeoutMs = o.timeoutMs ?? 60_000;
    this.retries = o.retries ?? 4;
    this.backoffMs = o.backoffMs ?? 500;
  }

  /** One request with retries; resolves to the body of a 2xx answer. */
  private async request(url: string, init: { method?: string; headers?: Record<string, string>; body?: Uint8Array }): Promise<{ body: ArrayBuffer; contentType: string }> {
    const headers = { ...init.headers, ...(this.authorization ? { Authorization: this.authorization } : {}) };
    for (let attempt = 0; ; attempt++) {
      let failure: DicomwebError;
      try {
        const response = await fetch(url, { method: init.method ?? 'GET', headers, body: init.body, signal: AbortSignal.timeout(this.timeoutMs) });
        const body = await response.arrayBuffer();
        if (response.ok) return { body, contentType: response.headers.get('content-type') ?? '' };
        const problem = `HTTP ${response.status} ${response.statusText}`.trim();
        const denied = response.status === 401 || response.status === 403;
        const hint = denied ? `: check ${CREDENTIAL_VARIABLES.user}/${CREDENTIAL_VARIABLES.password} or ${CREDENTIAL_VARIABLES.token}` : '';
        failure = new DicomwebError(url, problem + hint, response.status, TRANSIENT_STATUS.has(response.status), denied);
      } catch (err) {
        failure = networkError(url, err, this.timeoutMs);
      }
      if (!failure.transient) throw failure;
      if (attempt >= this.retries) {
        throw new DicomwebError(url, `${failure.message.slice(url.length + 2)} (after ${attempt + 1} attempts)`, failure.status, true);
      }
      await sleep(this.backoffMs * 2 ** attempt);
    }
  }

  /**
   * QIDO-RS: every instance matching `match` (attribute keyword or tag -> value, PS3.18 8.3.4), all pages.
   */
  async searchInstances(match: Record<string, string>): Promise<InstanceRef[]> {
    const found: InstanceRef[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const query = new URLSearchParams(match);
      query.append('includefield', '00080016');
      query.append('includefield', '00080060');
      query.set('limit', String(PAGE));
      query.set('offset', String(offset));
      const url = `${this.url}/instances?${query}`;
      const { body } = await this.request(url, { headers: { Accept: 'application/dicom+json' } });
      // No match: 204 with an empty body.
      const text = Buffer.from(body).toString('utf8');
      let page: Record<string, { Value?: unknown[] }>[];
      try {
        page = text.trim() === '' ? [] : JSON.parse(text);
        if (!Array.isArray(page)) throw new Error('not an array');
      } catch (err) {
        throw new DicomwebError(url, `not a QIDO-RS answer (DICOM JSON array expected: ${(err as Error).message})`, undefined, false);
      }
      for (const item of page) {
        const studyInstanceUid = firstValue(item, '0020000D');
        const seriesInstanceUid = firstValue(item, '0020000E');
        const sopInstanceUid = firstValue(item, '00080018');
        if (!studyInstanceUid || !seriesInstanceUid || !sopInstanceUid) continue;
        found.push({ studyInstanceUid, seriesInstanceUid, sopInstanceUid, sopClassUid: firstValue(item, '00080016'), modality: firstValue(item, '00080060') });
      }
      if (page.length < PAGE) return found;
    }
  }

  /** The WADO-RS URL of an instance. */
  instanceUrl(ref: InstanceRef): string {
    return `${this.url}/studies/${ref.studyInstanceUid}/series/${ref.seriesInstanceUid}/instances/${ref.sopInstanceUid}`;
  }

  /** WADO-RS: the instance as stored (any transfer syntax; lmk decodes the compressed ones itself). */
  async retrieveInstance(ref: InstanceRef): Promise<Uint8Array> {
    const url = this.instanceUrl(ref);
    const { body, contentType } = await this.request(url, { headers: { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
    if (!/^multipart\/related/i.test(contentType)) throw new DicomwebError(url, `expected multipart/related, got '${contentType}'`, undefined, false);
    let parts: ArrayBuffer[];
    try {
      parts = dcmjsUtilities.message.multipartDecode(body);
    } catch (err) {
      throw new DicomwebError(url, `malformed multipart answer (${(err as Error).message})`, undefined, false);
    }
    if (parts.length !== 1) throw new DicomwebError(url, `expected one DICOM part, got ${parts.length}`, undefined, false);
    return new Uint8Array(parts[0]);
  }

  /** STOW-RS: stores Part-10 files in a study; throws when the server refuses any of them. */
  async storeInstances(studyInstanceUid: string, files: Uint8Array[]): Promise<void> {
    const url = `${this.url}/studies/${studyInstanceUid}`;
    const { data, boundary } = dcmjsUtilities.message.multipartEncode(files.map((f) => f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength) as ArrayBuffer));
    const { body } = await this.request(url, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`, Accept: 'application/dicom+json' },
      body: new Uint8Array(data),
    });
    const text = Buffer.from(body).toString('utf8').trim();
    if (text === '') return;
    let answer: Record<string, { Value?: unknown[] }>;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new DicomwebError(url, 'not a STOW-RS answer (DICOM JSON expected)', undefined, false);
    }
    // FailedSOPSequence: the instances the server did not store, each with a FailureReason.
    const failed = answer['00081198']?.Value ?? [];
    if (failed.length > 0) {
      const reason = (failed[0] as Record<string, { Value?: unknown[] }>)['00081197']?.Value?.[0];
      throw new DicomwebError(url, `the server refused ${failed.length} of ${files.length} instance(s) (failure reason ${String(reason ?? 'not given')})`, undefined, false);
    }
  }
}
