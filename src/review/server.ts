import { randomBytes, timingSafeEqual } from 'crypto';
import { createReadStream, existsSync, readFileSync } from 'fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import type { AddressInfo } from 'net';
import { hostname } from 'os';
import { join, resolve } from 'path';
import { LandmarkName, numberedLandmarkNames } from '../data/landmark-names';
import { ImageReadError } from '../io';
import type { Point } from '../data';
import { ReviewItem, ReviewStore } from './journal';
import { ListQuery, ORDERS, Order, ReviewList, STATUSES, Status } from './list';
import { CACHE_DIR, PreviewCache, PreviewKind } from './preview';

/**
 * The review page's HTTP server (Node's http, no framework). Every request must carry the token printed in
 * the URL (as `?token=` or the cookie the page gets from it): other users of a machine reach its loopback
 * too. Only the fixed page files and the images of predictions.jsonl (by their index, never by a path)
 * are served; anything else is 404. It writes only under OUT: reviewed.jsonl and review-cache/.
 */

/** The page's files, beside this module (npm run build copies them from src/review/page to dist/review/page). */
export const PAGE_DIR = join(__dirname, 'page');
const PAGE_FILES: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};
const COOKIE = 'lmk-review-token';
const MAX_BODY = 1 << 20;
const PAGE_LIMIT = 200;

export interface ReviewServerOptions {
  outDir: string;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Default: 24 random bytes, base64url. */
  token?: string;
  /** The model's names; default `landmark N`. */
  landmarkNames?: LandmarkName[];
  /** A request that failed on the server side (an image that cannot be read): one line. */
  onError?: (message: string) => void;
}

export interface ReviewServer {
  /** The address to open, token included. */
  url: string;
  port: number;
  store: ReviewStore;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: string | Buffer, type: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

const json = (res: ServerResponse, value: unknown, status = 200) => send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');

function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const fromQuery = url.searchParams.get('token');
  if (fromQuery) return fromQuery;
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) return value.join('=');
  }
  return undefined;
}

function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body over 1 MB');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the request body is not JSON');
  }
}

function intParam(url: URL, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = url.searchParams.get(name);
  if (text === null || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new HttpError(400, `${name} must be a whole number from 0 to ${max}, got '${text}'`);
  return n;
}

function choice<T extends string>(url: URL, name: string, options: readonly T[]): T {
  const value = url.searchParams.get(name) ?? options[0];
  if (!options.includes(value as T)) throw new HttpError(400, `${name} must be one of ${options.join(', ')}, got '${value}'`);
  return value as T;
}

export async function startReviewServer(o: ReviewServerOptions): Promise<ReviewServer> {
  const outDir = resolve(o.outDir);
  const store = await ReviewStore.load(outDir, { write: true });
  const names = o.landmarkNames ?? numberedLandmarkNames(store.landmarkCount);
  if (names.length !== store.landmarkCount) {
    store.close();
    throw new Error(`the model names ${names.length} landmarks, ${store.predictionsFile} has ${store.landmarkCount}`);
  }
  const list = new ReviewList(store);
  const previews = new PreviewCache(join(outDir, CACHE_DIR));
  const token = o.token ?? randomBytes(24).toString('base64url');
  const page = new Map(Object.entries(PAGE_FILES).map(([route, [file, type]]) => [route, { body: readFileSync(join(PAGE_DIR, file)), type }]));

  const itemAt = (text: string): ReviewItem => {
    const n = /^\d{1,9}$/.test(text) ? Number(text) : -1;
    const item = store.items[n];
    if (!item) throw new HttpError(404, 'no such image');
    return item;
  };
  const itemJson = (item: ReviewItem) => {
    const r = store.reviewed.get(item.index);
    return {
      index: item.index, id: item.id, path: item.key, file: item.file, width: item.width, height: item.height,
      predicted: item.landmarks, landmarks: store.current(item), scores: item.scores, meanScore: item.meanScore, replaced: item.replaced,
      moved: r?.moved ?? [], accepted: r?.accepted ?? false, reviewedAt: r?.reviewedAt,
      missing: existsSync(item.file) ? undefined : `${item.file}: the image is no longer there`,
    };
  };
  const progress = () => ({ progress: { accepted: store.acceptedCount, total: store.items.length } });

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const get = req.method === 'GET' || req.method === 'HEAD';
    const file = page.get(path);
    if (file && get) {
      // The token moves from the address into a cookie that only this origin's requests carry.
      send(res, 200, file.body, file.type, {
        'Set-Cookie': `${COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict`,
        'Content-Security-Policy': "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'",
      });
      return;
    }
    const parts = path.split('/').slice(1);
    if (parts[0] !== 'api') throw new HttpError(404, 'not found');
    if (get && path === '/api/info') {
      json(res, { outDir, landmarks: names, problems: store.problems.messages, problemCount: store.problems.count, ...progress() });
      return;
    }
    if (get && path === '/api/list') {
      const landmark = url.searchParams.get('landmark');
      const q: ListQuery = {
        order: choice<Order>(url, 'order', ORDERS),
        status: choice<Status>(url, 'status', STATUSES),
        landmark: landmark === null || landmark === '' ? undefined : intParam(url, 'landmark', 0, store.landmarkCount - 1),
        offset: intParam(url, 'offset', 0),
        limit: Math.max(1, intParam(url, 'limit', 50, PAGE_LIMIT)),
        find: url.searchParams.has('find') ? intParam(url, 'find', 0) : undefined,
      };
      json(res, { ...list.page(q), ...progress() });
      return;
    }
    if (parts[1] === 'items' && parts.length === 3) {
      const item = itemAt(parts[2]);
      if (get) json(res, itemJson(item));
      else if (req.method === 'POST') {
        const body = (await readBody(req)) as { landmarks?: unknown; accepted?: unknown };
        const points = body.landmarks;
        const valid = Array.isArray(points) && points.length === store.landmarkCount
          && points.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && Number.isFinite(v)));
        if (!valid) throw new HttpError(400, `landmarks must be ${store.landmarkCount} [x, y] pairs of numbers`);
        store.save(item, points as Point[], body.accepted === true);
        json(res, { item: itemJson(item), ...progress() });
      } else throw new HttpError(405, 'GET or POST');
      return;
    }
    if (get && parts[1] === 'images' && parts.length === 4 && (parts[3] === 'preview.jpg' || parts[3] === 'full.jpg')) {
      const item = itemAt(parts[2]);
      const kind: PreviewKind = parts[3] === 'full.jpg' ? 'full' : 'preview';
      let jpeg: string;
      try {
        jpeg = await previews.jpeg(item.file, kind);
      } catch (err) {
        // Read errors (ImageReadError) name the file already.
        const message = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${item.file}: the image is no longer there`
          : err instanceof ImageReadError ? err.message : `${item.file}: ${(err as Error).message}`;
        o.onError?.(message);
        throw new HttpError(404, message);
      }
      res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Cache-Control': 'private, max-age=3600' });
      createReadStream(jpeg).pipe(res);
      return;
    }
    throw new HttpError(404, 'not found');
  }

  const server: Server = createServer((req, res) => {
    // The path is looked up, never joined onto a folder: `..` and its encodings simply match nothing.
    const url = new URL(req.url ?? '/', 'http://review.invalid');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (!sameToken(tokenOf(req, url), token)) {
      send(res, 403, 'lmk review: this address needs the token: open the URL that lmk review printed\n', 'text/plain; charset=utf-8');
      return;
    }
    route(req, res, url).catch((err) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) o.onError?.(`${req.method} ${url.pathname}: ${(err as Error).message}`);
      if (!res.headersSent) json(res, { error: (err as Error).message }, status);
      else res.destroy();
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolveListen());
  }).catch((err) => {
    store.close();
    throw err;
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host ?? '127.0.0.1';
  const shown = host === '0.0.0.0' || host === '::' ? hostname() : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/?token=${token}`,
    port,
    store,
    close: () => new Promise<void>((resolveClose) => {
      server.closeAllConnections();
      server.close(() => {
        store.close();
        resolveClose();
      });
    }),
  };
}
