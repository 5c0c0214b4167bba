import { spawn } from 'child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadDataset } from '../../src/data';
import { exportReviewed, ReviewList, ReviewStore, startReviewServer } from '../../src/review';
import { buildCli } from '../train/built-cli';
import { lmk } from '../util/lmk-cli';
import { makePredictions, newestReview, rawGet, ReviewFixture, TINY_NAMES, worstFirst } from './helpers';

/** lmk review without a browser: the journals, the list, the export, the server's refusals and the command. */

let dir: string;
let fx: ReviewFixture;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lmk-review-'));
  fx = await makePredictions(dir);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the fixture's output folder, so that each test starts from the predictions alone. */
function copyOut(name: string): string {
  const out = join(dir, name);
  mkdirSync(out);
  writeFileSync(join(out, 'predictions.jsonl'), readFileSync(join(fx.out, 'predictions.jsonl')));
  return out;
}

describe('the journals', () => {
  test('the newest line of an image wins; a torn last line is skipped, then cut before the next append', async () => {
    const out = copyOut('newest');
    const [a, b] = fx.lines;
    const line = (l: typeof a, x: number, accepted: boolean) => JSON.stringify({
      id: l.id, file: l.file, path: l.path, landmarks: l.landmarks.map(([, y]) => [x, y]), moved: [0], accepted, reviewedAt: '2026-12-01T00:00:00.000Z',
    });
    writeFileSync(join(out, 'reviewed.jsonl'), `${line(a, 1, false)}\n${line(b, 2, true)}\n${line(a, 3, true)}\n${line(b, 4, false).slice(0, 40)}`);
    const read = await ReviewStore.load(out);
    expect(read.problems.count).toBe(0);
    expect(read.reviewed.get(0)).toMatchObject({ accepted: true, landmarks: a.landmarks.map(([, y]) => [3, y]) });
    expect(read.reviewed.get(1)).toMatchObject({ accepted: true });
    expect(read.acceptedCount).toBe(2);
    const writing = await ReviewStore.load(out, { write: true });
    writing.save(writing.items[1], writing.items[1].landmarks, false);
    writing.close();
    const text = readFileSync(join(out, 'reviewed.jsonl'), 'utf8');
    expect(text.split('\n').filter(Boolean).map((l) => JSON.parse(l).accepted)).toEqual([false, true, true, false]);
    expect((await ReviewStore.load(out)).acceptedCount).toBe(1);
  });

  test('a line that does not parse, or has no image file (lmk pacs), is named; the rest loads', async () => {
    const out = copyOut('bad-lines');
    appendFileSync(join(out, 'predictions.jsonl'), 'not json\n{"sopInstanceUid":"1.2.3","landmarks":[[1,2]],"scores":[1],"width":4,"height":4}\n');
    const store = await ReviewStore.load(out);
    expect(store.items).toHaveLength(fx.lines.length);
    expect(store.problems.messages).toEqual([
      `predictions.jsonl:${fx.lines.length + 1}: not a JSON line, skipped`,
      `predictions.jsonl:${fx.lines.length + 2}: no image file (lmk pacs keeps its images on the server; review a lmk predict output), skipped`,
    ]);
  });

  test('folders that cannot be reviewed: one line naming the file and the problem', async () => {
    const shards = join(dir, 'sharded');
    mkdirSync(join(shards, 'shards', '0-of-2'), { recursive: true });
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'predictions.jsonl'), '');
    await expect(ReviewStore.load(join(dir, 'absent'))).rejects.toThrow(`${join(dir, 'absent')}: no such folder`);
    await expect(ReviewStore.load(fx.model)).rejects.toThrow(`${fx.model}: not a folder`);
    await expect(ReviewStore.load(shards)).rejects.toThrow(`${join(shards, 'predictions.jsonl')}: not there, the shards in ${join(shards, 'shards')} are not merged yet: run lmk merge ${shards} first`);
    await expect(ReviewStore.load(empty)).rejects.toThrow(`${join(empty, 'predictions.jsonl')}: no predictions to review`);
  });
});

describe('the list', () => {
  test('worst first (replacements, then the lowest score), other orders, a landmark, a status, pages', async () => {
    const out = copyOut('list');
    const store = await ReviewStore.load(out, { write: true });
    const list = new ReviewList(store);
    const ids = (q: Partial<Parameters<ReviewList['page']>[0]>) => list.page({ order: 'worst', status: 'all', offset: 0, limit: 100, ...q }).rows.map((r) => r.id);
    expect(ids({})).toEqual(worstFirst(fx.lines));
    expect(ids({})[0]).toBe('replaced');
    expect(ids({ order: 'mean' })).toEqual([...fx.lines].sort((a, b) => a.meanScore - b.meanScore).map((l) => l.id));
    expect(ids({ order: 'name' })).toEqual([...fx.lines].sort((a, b) => (a.path < b.path ? -1 : 1)).map((l) => l.id));
    // Ranked by landmark 5 alone: the replacement of landmark 3 does not count.
    expect(ids({ landmark: 5 })).toEqual([...fx.lines].sort((a, b) => a.scores[5] - b.scores[5] || (a.path < b.path ? -1 : 1)).map((l) => l.id));
    store.save(store.items[2], store.items[2].landmarks.map(([x, y]) => [x + 1, y]), false);
    store.save(store.items[4], store.items[4].landmarks, true);
    expect(ids({ status: 'accepted' })).toEqual([fx.lines[4].id]);
    expect(ids({ status: 'corrected' })).toEqual([fx.lines[2].id]);
    expect(ids({ status: 'todo' })).toHaveLength(fx.lines.length - 1);
    const all = ids({});
    const page = list.page({ order: 'worst', status: 'all', offset: 0, limit: 3, find: store.items.find((i) => i.id === all[4])!.index });
    expect(page).toMatchObject({ total: fx.lines.length, offset: 3 });
    expect(page.rows.map((r) => r.id)).toEqual(all.slice(3, 6));
    store.close();
  });
});

describe('lmk review export', () => {
  test('the accepted images as a csv data set that the loader reads as training data; the rest counted', async () => {
    const out = copyOut('export');
    const store = await ReviewStore.load(out, { write: true });
    const moved = store.items[1].landmarks.map(([x, y]): [number, number] => [x + 2.25, y - 1.5]);
    store.save(store.items[1], moved, true);
    store.save(store.items[3], store.items[3].landmarks, true);
    store.save(store.items[5], store.items[5].landmarks.map(([x, y]) => [x, y + 1]), false);
    store.close();
    const data = join(dir, 'export-data');
    const r = await lmk(['review', 'export', out, '--out', data]);
    expect(r).toEqual({ status: 0, stderr: `lmk review export: 2 accepted images in ${join(data, 'landmarks.csv')}; left out 1 with moved points but not accepted\n` });
    const csv = readFileSync(join(data, 'landmarks.csv'), 'utf8').split('\n');
    expect(csv[0]).toBe(`image,${Array.from({ length: 7 }, (_, k) => `x${k + 1},y${k + 1}`).join(',')},split`);
    expect(csv[1].endsWith(',')).toBe(true);
    const d = await loadDataset({ format: 'csv', root: data });
    expect(d.missing).toEqual([]);
    expect(d.items.map((i) => [i.imagePath, i.split])).toEqual([[fx.lines[1].file, 'train'], [fx.lines[3].file, 'train']]);
    d.items[0].landmarks.forEach(([x, y], k) => {
      expect(x).toBeCloseTo(moved[k][0], 3);
      expect(y).toBeCloseTo(moved[k][1], 3);
    });
    const none = copyOut('export-none');
    await expect(exportReviewed(none, join(dir, 'x'))).rejects.toThrow(`${join(none, 'reviewed.jsonl')}: no accepted images to export`);
    expect(await lmk(['review', 'export', join(dir, 'absent'), '--out', data])).toEqual({ status: 1, stderr: `lmk: ${join(dir, 'absent')}: no such folder\n` });
  });
});

describe('the server', () => {
  test('every request needs the token; only the journal\'s images, by index; `..` and anything else: 404', async () => {
    const out = copyOut('server');
    const server = await startReviewServer({ outDir: out, token: 'secret-token-1' });
    try {
      const port = server.port;
      expect(server.url).toBe(`http://127.0.0.1:${port}/?token=secret-token-1`);
      for (const path of ['/', '/api/info', '/api/images/0/preview.jpg', '/../../etc/passwd']) {
        expect((await rawGet(port, path)).status).toBe(403);
        expect((await rawGet(port, `${path}?token=wrong`)).status).toBe(403);
        expect((await rawGet(port, path, { Cookie: 'lmk-review-token=secret-token-1x' })).status).toBe(403);
      }
      const page = await fetch(server.url);
      expect(page.status).toBe(200);
      const cookie = page.headers.get('set-cookie')!.split(';')[0];
      expect(cookie).toBe('lmk-review-token=secret-token-1');
      const withCookie = { Cookie: cookie };
      expect((await rawGet(port, '/api/images/0/preview.jpg', withCookie)).status).toBe(200);
      for (const path of ['/../../etc/passwd', '/api/images/../../../etc/passwd', '/api/images/..%2f..%2fetc%2fpasswd/preview.jpg', '/%2e%2e/%2e%2e/etc/passwd',
        `/api/images/${fx.lines.length}/preview.jpg`, '/api/images/-1/preview.jpg', '/api/images/0/../../review.test.ts', '/server.ts', '/page/app.js', '/api/items/1e2']) {
        expect([path, (await rawGet(port, path, withCookie)).status]).toEqual([path, 404]);
      }
      const post = (index: number, body: unknown) => fetch(`http://127.0.0.1:${port}/api/items/${index}`, { method: 'POST', headers: { ...withCookie, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      expect((await post(0, { landmarks: [[1, 2]] })).status).toBe(400);
      expect((await post(0, { landmarks: fx.lines[0].landmarks, accepted: true })).status).toBe(200);
      expect(newestReview(out, fx.lines[0].path)).toMatchObject({ accepted: true, moved: [] });
    } finally {
      await server.close();
    }
    // Written: reviewed.jsonl and the preview cache, under OUT; predictions.jsonl unchanged.
    expect(readdirSync(out).sort()).toEqual(['predictions.jsonl', 'review-cache', 'reviewed.jsonl']);
    expect(readFileSync(join(out, 'predictions.jsonl'), 'utf8')).toBe(readFileSync(join(fx.out, 'predictions.jsonl'), 'utf8'));
  });

  test('an image that is no longer there: a message for that image, the rest is served', async () => {
    const out = copyOut('gone');
    const line = { ...fx.lines[0], id: 'gone', path: 'gone.png', file: join(dir, 'gone.png') };
    appendFileSync(join(out, 'predictions.jsonl'), `${JSON.stringify(line)}\n`);
    const errors: string[] = [];
    const server = await startReviewServer({ outDir: out, onError: (m) => errors.push(m) });
    try {
      const index = fx.lines.length;
      const item = (await (await fetch(server.url.replace('/?', `/api/items/${index}?`))).json()) as { missing?: string };
      expect(item.missing).toBe(`${line.file}: the image is no longer there`);
      const image = await fetch(server.url.replace('/?', `/api/images/${index}/preview.jpg?`));
      expect([image.status, ((await image.json()) as { error: string }).error]).toEqual([404, `${line.file}: the image is no longer there`]);
      expect(errors).toEqual([`${line.file}: the image is no longer there`]);
      expect((await fetch(server.url.replace('/?', '/api/images/0/preview.jpg?'))).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  test('lmk review prints the address with its token, names the landmarks as the model does, and serves until SIGINT', async () => {
    const cli = buildCli(join(dir, 'built'));
    const out = copyOut('cli');
    const child = spawn(process.execPath, ['--no-warnings', cli.script, 'review', out, '--model', fx.model], { env: cli.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      while (!stdout.includes('\n')) await new Promise((r) => setTimeout(r, 50));
      const url = stdout.trim();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32}$/);
      expect(stderr).toBe(`lmk review: ${fx.lines.length} images, 0 accepted so far; open this address (Ctrl-C to stop):\n`);
      expect((await fetch(url)).status).toBe(200);
      expect(((await (await fetch(url.replace('/?', '/api/info?'))).json()) as { landmarks: unknown }).landmarks).toEqual(TINY_NAMES);
      expect((await fetch(url.replace(/token=.*/, 'token=guess'))).status).toBe(403);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  }, 60_000);
});
