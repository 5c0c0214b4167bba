#!/usr/bin/env node
// Copies of ISBI 2015 images changed the way other devices and archives differ, with their annotations moved to
// match, in the ISBI layout, so that `lmk eval --format isbi2015 --root OUT/<name>` scores a model on them:
//   mirror      flipped left to right (the patient faces left); x -> W - 1 - x
//   fov:F       the anatomy F times as large in the frame: F > 1 crops the centre (W/F x H/F), F < 1 pads with black
//   gamma:G     grey levels v -> 255 (v / 255)^G
//   noise:S     Gaussian noise of S grey levels (seeded)
//   blur:S      Gaussian blur of sigma S pixels
//   A+B         A, then B (e.g. fov:1.3+gamma:1.6+noise:6: another device)
// Pixel spacing stays 0.1 mm (crops and pads change the field of view, not the pixel size). Dev tool (sharp):
//   node scripts/isbi-transform.js --root ISBI2015_DIR --out DIR --transform mirror [--transform fov:1.3 ...] [--folder Test1Data]
const { mkdirSync, readdirSync, readFileSync, writeFileSync } = require('fs');
const { join, resolve } = require('path');
const sharp = require('sharp');
const yargs = require('yargs/yargs');

const argv = yargs(process.argv.slice(2))
  .option('root', { type: 'string', demandOption: true })
  .option('out', { type: 'string', demandOption: true })
  .option('transform', { type: 'array', string: true, demandOption: true })
  .option('folder', { type: 'string', default: 'Test1Data' })
  .strict().parseSync();

/** mulberry32: the seeded generator lmk uses. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The image (sharp pipeline on grey pixels) and the point mapping of one transform of grey pixels. */
async function applyOne(spec, { data, width: W, height: H }, id) {
  const [name, arg] = spec.split(':');
  const value = Number(arg);
  const raw = (buf, w, h) => sharp(buf, { raw: { width: w, height: h, channels: 1 } });
  switch (name) {
    case 'mirror': return { image: raw(data, W, H).flop(), map: ([x, y]) => [W - 1 - x, y] };
    case 'fov': {
      if (!(value > 0)) throw new Error(`fov:F needs F > 0, got ${arg}`);
      const w = Math.round(W / value);
      const h = Math.round(H / value);
      const left = Math.round((W - w) / 2);
      const top = Math.round((H - h) / 2);
      if (value >= 1) return { image: raw(data, W, H).extract({ left, top, width: w, height: h }), map: ([x, y]) => [x - left, y - top] };
      return {
        image: raw(data, W, H).extend({ left: -left, top: -top, right: w - W + left, bottom: h - H + top, background: { r: 0, g: 0, b: 0 } }),
        map: ([x, y]) => [x - left, y - top],
      };
    }
    case 'gamma': {
      const out = Buffer.from(data, 0, data.length);
      for (let i = 0; i < out.length; i++) out[i] = Math.round(255 * (data[i] / 255) ** value);
      return { image: raw(out, W, H), map: (p) => p };
    }
    case 'noise': {
      const next = random(Number(id));
      const out = Buffer.alloc(data.length);
      for (let i = 0; i < out.length; i++) {
        const gauss = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
        out[i] = Math.max(0, Math.min(255, Math.round(data[i] + value * gauss)));
      }
      return { image: raw(out, W, H), map: (p) => p };
    }
    case 'blur': return { image: raw(data, W, H).blur(value), map: (p) => p };
    default: throw new Error(`unknown transform '${spec}' (mirror, fov:F, gamma:G, noise:S, blur:S)`);
  }
}

/** A chain of transforms (A+B+...) of one file: its grey pixels after all, and the composed point mapping. */
async function apply(chain, file, id) {
  const { data, info } = await sharp(file).greyscale().raw().toBuffer({ resolveWithObject: true });
  let current = { data, width: info.width, height: info.height };
  let map = (p) => p;
  for (const spec of chain.split('+')) {
    const step = await applyOne(spec, current, id);
    const out = await step.image.extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    current = { data: out.data, width: out.info.width, height: out.info.height };
    const before = map;
    map = (p) => step.map(before(p));
  }
  const image = sharp(current.data, { raw: { width: current.width, height: current.height, channels: 1 } });
  return { image, map };
}

(async () => {
  const root = resolve(argv.root);
  const source = join(root, 'RawImage', argv.folder);
  const images = readdirSync(source).filter((f) => /^\d+\.(jpg|jpeg|png|bmp)$/i.test(f)).sort();
  for (const spec of argv.transform) {
    const dir = join(argv.out, spec.replace(/:/g, '-'));
    mkdirSync(join(dir, 'RawImage', argv.folder), { recursive: true });
    for (const doctor of ['400_senior', '400_junior']) mkdirSync(join(dir, 'AnnotationsByMD', doctor), { recursive: true });
    for (const image of images) {
      const id = image.replace(/\.\w+$/, '');
      const { image: out, map } = await apply(spec, join(source, image), id);
      // PNG: lossless, so that only the transform changes the pixels.
      await out.png({ compressionLevel: 1 }).toFile(join(dir, 'RawImage', argv.folder, `${id}.png`));
      for (const doctor of ['400_senior', '400_junior']) {
        const lines = readFileSync(join(root, 'AnnotationsByMD', doctor, `${id}.txt`), 'utf8').split(/\r?\n/);
        const moved = lines.map((line, k) => {
          const fields = line.split(',');
          if (k >= 19 || fields.length !== 2) return line;
          return map(fields.map(Number)).map((v) => Number(v.toFixed(3))).join(',');
        });
        writeFileSync(join(dir, 'AnnotationsByMD', doctor, `${id}.txt`), moved.join('\n'));
      }
    }
    console.log(`${dir}: ${images.length} images`);
  }
})().catch((err) => {
  console.error(`isbi-transform: ${err.message}`);
  process.exit(1);
});
