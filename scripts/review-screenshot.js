#!/usr/bin/env node
// Dev-only: docs/review.png, the lmk review page over the shipped head model's predictions for ten real ISBI 2015
// cephalograms (../shared/data), one landmark dragged and one image accepted. Needs `npm run build`, the
// devDependency playwright-core and /usr/bin/chromium.
//   node scripts/review-screenshot.js [OUT.png]
const { execFileSync } = require('child_process');
const { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } = require('fs');
const { tmpdir } = require('os');
const { join, resolve } = require('path');
const { chromium } = require('playwright-core');
const sharp = require('sharp');

const root = resolve(__dirname, '..');
const { startReviewServer } = require(join(root, 'dist', 'review'));
const { ISBI2015_LANDMARK_NAMES } = require(join(root, 'dist', 'data', 'landmark-names'));
const target = resolve(process.argv[2] ?? join(root, 'docs', 'review.png'));

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'lmk-review-shot-'));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
  let server;
  try {
    const input = join(dir, 'Test1Data');
    mkdirSync(input);
    for (let id = 151; id <= 160; id++) symlinkSync(join(root, '..', 'shared', 'data', 'isbi2015', 'RawImage', 'Test1Data', `${id}.jpg`), join(input, `${id}.jpg`));
    const out = join(dir, 'preds');
    execFileSync(process.execPath, [join(root, 'dist', 'cli', 'lmk.js'), 'predict', '--model', 'isbi2015-head', '--input', input, '--out', out, '--quiet'], { stdio: 'inherit' });
    server = await startReviewServer({ outDir: out, landmarkNames: ISBI2015_LANDMARK_NAMES });
    const page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
    await page.goto(server.url);
    await page.waitForFunction(() => document.body.dataset.shown);
    const first = await page.evaluate(() => document.body.dataset.shown);
    await page.keyboard.press('a');
    await page.waitForFunction((f) => document.body.dataset.shown && document.body.dataset.shown !== f, first);
    // Drag soft-tissue pogonion (index 15) a little, as a reviewer correcting it would.
    const saved = await page.evaluate(() => document.body.dataset.saved);
    const mark = await page.locator('#marks circle[data-k="15"]').boundingBox();
    const [x, y] = [mark.x + mark.width / 2, mark.y + mark.height / 2];
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x + 6, y + 4);
    await page.mouse.move(x + 12, y + 8);
    await page.mouse.up();
    await page.waitForFunction((s) => document.body.dataset.saved !== s, saved);
    const png = await page.screenshot();
    // A palette keeps the PNG small enough for the README (the radiograph's grey levels survive it well).
    writeFileSync(target, await sharp(png).png({ palette: true, colours: 128, effort: 10 }).toBuffer());
    process.stderr.write(`wrote ${target}\n`);
  } finally {
    await browser.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`review-screenshot: ${err.message}\n`);
  process.exitCode = 1;
});
