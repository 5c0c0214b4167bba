import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Browser, chromium, Page } from 'playwright-core';
import { loadDataset } from '../../src/data';
import { ISBI2015_LANDMARK_NAMES } from '../../src/data/landmark-names';
import type { PredictionLine } from '../../src/predict';
import { ReviewServer, startReviewServer } from '../../src/review';
import { describeWithSharedData, SHARED_DATA } from '../util/shared-data';
import { lmk } from '../util/lmk-cli';
import { jsonLines, makePredictions, newestReview, ReviewFixture, TINY_ARCH, TINY_NAMES, worstFirst } from './helpers';

/**
 * The review page in a real browser (Debian's chromium driven by playwright-core): the order, a landmark
 * dragged by a known offset and found in reviewed.jsonl after a reload, accepting by keyboard, the export
 * trained on, and the refusals. The tests run in order on one output folder, as a person would.
 */

/** The browser globals that the functions run in the page use (the project compiles without the DOM library). */
interface Img { src: string; naturalWidth: number; naturalHeight: number }
declare const document: { body: { dataset: Record<string, string | undefined> }; getElementById(id: string): Img };

const CHROMIUM = '/usr/bin/chromium';
const MISSING = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install chromium; .ci/run does)`;

const shown = (page: Page, index?: number) => page.waitForFunction((i) => {
  const s = document.body.dataset.shown;
  return i === undefined ? Boolean(s) : s === String(i);
}, index);

(MISSING ? describe.skip : describe)(`lmk review in Chromium${MISSING ? ` (skipped: ${MISSING})` : ''}`, () => {
  let dir: string;
  let fx: ReviewFixture;
  let server: ReviewServer;
  let browser: Browser;
  let page: Page;
  let order: PredictionLine[];
  const indexOf = (l: PredictionLine) => fx.lines.indexOf(l);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lmk-review-browser-'));
    fx = await makePredictions(dir);
    order = worstFirst(fx.lines).map((id) => fx.lines.find((l) => l.id === id)!);
    server = await startReviewServer({ outDir: fx.out, landmarkNames: TINY_NAMES });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('worst first; the image with every landmark drawn and named; the progress', async () => {
    await page.goto(server.url);
    await shown(page, indexOf(order[0]));
    expect(await page.locator('#list li .name').allTextContents()).toEqual(order.map((l) => l.id));
    expect(await page.locator('#list li.current .name').textContent()).toBe('replaced');
    expect(await page.locator('#marks circle').count()).toBe(7);
    expect(await page.locator('#marks text').allTextContents()).toEqual(TINY_NAMES.map((n) => n.code));
    expect(await page.locator('#points td.name').allTextContents()).toEqual(TINY_NAMES.map((n) => n.name));
    expect(await page.locator('#points tr').nth(3).locator('td.flag').textContent()).toMatch(/replaced/);
    expect(await page.locator('#progress').textContent()).toBe(`0 / ${fx.lines.length} reviewed`);
  });

  test('a landmark dragged by a known offset is in reviewed.jsonl within half a pixel, and drawn there after a reload', async () => {
    const item = order[0];
    const k = 6; // drawn last, so on top of any mark it overlaps
    const stage = (await page.locator('#stage').boundingBox())!;
    const scale = stage.width / item.width;
    const mark = (await page.locator(`#marks circle[data-k="${k}"]`).boundingBox())!;
    const [x0, y0] = [mark.x + mark.width / 2, mark.y + mark.height / 2];
    const [dx, dy] = [23, -17];
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    await page.mouse.move(x0 + dx / 2, y0 + dy / 2);
    await page.mouse.move(x0 + dx, y0 + dy);
    await page.mouse.up();
    await page.waitForFunction((i) => document.body.dataset.saved?.startsWith(`${i}:`), indexOf(item));
    const expected = [item.landmarks[k][0] + dx / scale, item.landmarks[k][1] + dy / scale];

    await page.reload();
    await shown(page, indexOf(item));
    const saved = newestReview(fx.out, item.path)!;
    expect(saved).toMatchObject({ id: item.id, file: item.file, moved: [k], accepted: false });
    expect(Math.abs(saved.landmarks[k][0] - expected[0])).toBeLessThan(0.5);
    expect(Math.abs(saved.landmarks[k][1] - expected[1])).toBeLessThan(0.5);
    saved.landmarks.forEach((p, j) => { if (j !== k) expect(p).toEqual(item.landmarks[j]); });
    const circle = page.locator(`#marks circle[data-k="${k}"]`);
    expect(Number(await circle.getAttribute('cx')) - 0.5).toBeCloseTo(saved.landmarks[k][0], 3);
    expect(Number(await circle.getAttribute('cy')) - 0.5).toBeCloseTo(saved.landmarks[k][1], 3);
    expect(await page.locator('#list li.current').getAttribute('class')).toMatch(/corrected/);
    expect(await page.locator('#progress').textContent()).toBe(`0 / ${fx.lines.length} reviewed`);
  });

  test('a (keyboard): the image is accepted as it stands and the next one shown; j and k move through the list', async () => {
    const [first, second, third] = order;
    const moved = newestReview(fx.out, first.path)!.landmarks;
    await page.keyboard.press('a');
    await shown(page, indexOf(second));
    expect(newestReview(fx.out, first.path)).toMatchObject({ accepted: true, moved: [6], landmarks: moved });
    expect(await page.locator('#progress').textContent()).toBe(`1 / ${fx.lines.length} reviewed`);
    expect(await page.locator('#item-title').textContent()).toBe(second.path);
    expect(await page.locator('#list li').first().getAttribute('class')).toMatch(/accepted/);
    await page.keyboard.press('j');
    await shown(page, indexOf(third));
    await page.keyboard.press('k');
    await shown(page, indexOf(second));
    expect(jsonLines(join(fx.out, 'reviewed.jsonl'))).toHaveLength(2);
  });

  test('export, train one step from the export, predict with the fine-tuned model', async () => {
    const data = join(dir, 'reviewed');
    expect((await lmk(['review', 'export', fx.out, '--out', data, '--model', fx.model])).status).toBe(0);
    const d = await loadDataset({ format: 'csv', root: data });
    expect(d.items.map((i) => i.imagePath)).toEqual([order[0].file]);
    expect(d.items[0].landmarks).toEqual(newestReview(fx.out, order[0].path)!.landmarks);
    const run = join(dir, 'run');
    const trained = await lmk(['train', '--format', 'csv', '--root', data, '--init-weights', fx.model, ...TINY_ARCH, '--landmark-names', join(data, 'landmark-names.txt'),
      '--steps', '1', '--batch', '1', '--val-fraction', '0', '--threads', '1', '--workers', '0', '--quiet', '--out', run]);
    expect(trained).toEqual({ status: 0, stderr: '' });
    const again = join(dir, 'again');
    expect(await lmk(['predict', '--model', join(run, 'model.onnx'), '--input', fx.images, '--out', again, '--workers', '0', '--threads', '1', '--quiet'])).toEqual({ status: 0, stderr: '' });
    expect(jsonLines(join(again, 'predictions.jsonl'))).toHaveLength(fx.lines.length - 1);
  });

  test('without the token: refused; with it, nothing outside the journal\'s images', async () => {
    const stranger = await browser.newPage();
    try {
      const base = server.url.replace(/\?token=.*/, '');
      const refused = await stranger.goto(base);
      expect(refused!.status()).toBe(403);
      expect(await stranger.textContent('body')).toMatch(/needs the token/);
      expect((await stranger.goto(`${base}?token=not-the-token`))!.status()).toBe(403);
      expect((await stranger.goto(`${base}api/images/0/preview.jpg`))!.status()).toBe(403);
    } finally {
      await stranger.close();
    }
    const statuses = await page.evaluate(async () => Promise.all(['/api/images/../../../etc/passwd', '/api/images/%2e%2e%2fpredictions.jsonl/preview.jpg', '/predictions.jsonl', '/api/images/99/full.jpg']
      .map(async (path) => (await fetch(path)).status)));
    expect(statuses).toEqual([404, 404, 404, 404]);
  });

  describeWithSharedData('on real ISBI 2015 cephalograms', () => {
    test('the shipped head model\'s names; a preview first, the full resolution once zoomed', async () => {
      const input = join(dir, 'isbi');
      mkdirSync(input);
      for (const id of ['151', '152']) symlinkSync(join(SHARED_DATA!, 'isbi2015', 'RawImage', 'Test1Data', `${id}.jpg`), join(input, `${id}.jpg`));
      const out = join(dir, 'isbi-preds');
      expect((await lmk(['predict', '--model', 'isbi2015-head', '--input', input, '--out', out, '--workers', '0', '--quiet'])).status).toBe(0);
      const isbi = await startReviewServer({ outDir: out, landmarkNames: ISBI2015_LANDMARK_NAMES.map((n) => ({ ...n })) });
      try {
        await page.goto(isbi.url);
        await shown(page);
        expect(await page.locator('#marks circle').count()).toBe(19);
        expect(await page.locator('#points td.name').first().textContent()).toBe('sella');
        expect(await page.locator('#image').evaluate((img) => [(img as unknown as Img).naturalWidth, (img as unknown as Img).naturalHeight])).toEqual([825, 1024]);
        for (let i = 0; i < 4; i++) await page.keyboard.press('+');
        await page.waitForFunction(() => document.getElementById('image').src.endsWith('/full.jpg') && document.getElementById('image').naturalWidth === 1935);
      } finally {
        await isbi.close();
      }
    });
  });
});
