#!/usr/bin/env node
// Dev-only: how long lmk review takes to show the first image of a 10,000-image output. Predicts ten real ISBI
// 2015 cephalograms (../shared/data) with the shipped head model, repeats their lines under 10,000 distinct names
// and scores, then times reading the journals and the page (headless /usr/bin/chromium) up to its first image.
// Needs `npm run build` and the devDependency playwright-core.
//   node scripts/review-first-view.js [RUNS]
const { execFileSync } = require('child_process');
const { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } = require('fs');
const { tmpdir } = require('os');
const { join, resolve } = require('path');
const { chromium } = require('playwright-core');

const root = resolve(__dirname, '..');
const { startReviewServer } = require(join(root, 'dist', 'review'));
const { ISBI2015_LANDMARK_NAMES } = require(join(root, 'dist', 'data', 'landmark-names'));
const IMAGES = 10000;

async function main() {
  const runs = Number(process.argv[2] ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'lmk-review-bench-'));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
  try {
    const input = join(dir, 'Test1Data');
    mkdirSync(input);
    for (let id = 151; id <= 160; id++) symlinkSync(join(root, '..', 'shared', 'data', 'isbi2015', 'RawImage', 'Test1Data', `${id}.jpg`), join(input, `${id}.jpg`));
    const real = join(dir, 'real');
    execFileSync(process.execPath, [join(root, 'dist', 'cli', 'lmk.js'), 'predict', '--model', 'isbi2015-head', '--input', input, '--out', real, '--quiet'], { stdio: 'inherit' });
    const lines = readFileSync(join(real, 'predictions.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    let text = '';
    for (let i = 0; i < IMAGES; i++) {
      const l = lines[i % lines.length];
      // Distinct names and scores, so that the order is a real sort.
      const u = ((i * 2654435761) >>> 0) / 2 ** 32;
      const scores = l.scores.map((s, k) => Number((s * (0.8 + 0.2 * ((u + k / 19) % 1))).toFixed(4)));
      text += `${JSON.stringify({ ...l, id: `${l.id}-${i}`, path: `big/${String(i).padStart(5, '0')}/${l.id}.jpg`, scores })}\n`;
    }
    const out = join(dir, 'big');
    mkdirSync(out);
    writeFileSync(join(out, 'predictions.jsonl'), text);
    for (let run = 1; run <= runs; run++) {
      rmSync(join(out, 'review-cache'), { recursive: true, force: true });
      const t0 = performance.now();
      const server = await startReviewServer({ outDir: out, landmarkNames: ISBI2015_LANDMARK_NAMES });
      const t1 = performance.now();
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(server.url);
      await page.waitForFunction(() => document.body.dataset.shown);
      const t2 = performance.now();
      await page.close();
      await server.close();
      process.stdout.write(`run ${run}: ${IMAGES} images (${(Buffer.byteLength(text) / 2 ** 20).toFixed(1)} MB): journals read in ${(t1 - t0).toFixed(0)} ms, `
        + `first image shown ${(t2 - t1).toFixed(0)} ms later, ${(t2 - t0).toFixed(0)} ms in all (preview not cached)\n`);
    }
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`review-first-view: ${err.message}\n`);
  process.exitCode = 1;
});
