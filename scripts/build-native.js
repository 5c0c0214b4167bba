#!/usr/bin/env node
// Builds the optional native addon during `npm ci`/`npm install`. lmk works without it (through the
// TypeScript reference), so a failed build prints one warning and does not fail the install.
const { spawnSync } = require('child_process');
const { existsSync } = require('fs');
const { join } = require('path');

const root = join(__dirname, '..');
if (!existsSync(join(root, 'binding.gyp'))) process.exit(0);
const r = spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status !== 0) {
  console.warn('lmk: warning: the native addon did not build; heatmap rendering and decoding will use the slower TypeScript reference.');
}
