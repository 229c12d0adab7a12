#!/usr/bin/env node
// Browser tests of pyflame-speedscope's output in the real speedscope app (the offline page of the `speedscope` npm
// package), loaded the way speedscope's own CLI (bin/cli.mjs) loads a local file: a .js wrapper holding
// `speedscope.loadFileFromBase64(NAME, BASE64)` named by `index.html#localProfilePath=PATH`.
//
// usage: node speedscope.test.mjs PATH/TO/pyflame-speedscope OUTPUT_DIR
//
// For fixtures/basic.folded (one profile) and fixtures/threads.folded (a real three-thread recording, one profile per
// thread): renders with the binary, checks the file against speedscope's schema, opens it in Debian's Chromium
// through playwright-core, waits for the flame chart, checks that no import error or page error occurred, that the
// profile name and thread names appear, and that frame names from the profile are listed (Sandwich view's table is
// DOM text; the flame chart itself is a canvas), and saves screenshots (NAME-time-order.png, NAME-sandwich.png).
// Prints one line per check; exits 1 if any check fails, 2 if the tests cannot run at all.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.join(HERE, 'fixtures');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const require = createRequire(path.join(HERE, 'package.json'));

function die(msg) {
  console.error(`browser-speedscope: ${msg}`);
  process.exit(2);
}

const [binaryArg, outArg] = process.argv.slice(2);
if (!binaryArg || !outArg) die('usage: node speedscope.test.mjs PATH/TO/pyflame-speedscope OUTPUT_DIR');
const BINARY = path.resolve(binaryArg);
const OUT = path.resolve(outArg);
if (!fs.existsSync(BINARY)) die(`pyflame-speedscope not found at ${BINARY}`);
if (!fs.existsSync(CHROMIUM)) die(`chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM=)`);
let chromium, INDEX;
try {
  ({ chromium } = await import('playwright-core'));
  INDEX = require.resolve('speedscope/dist/release/index.html');
} catch (e) {
  die(`cannot load playwright-core and speedscope (run "npm install" in ${HERE}): ${e.message}`);
}
fs.mkdirSync(OUT, { recursive: true });

let failures = 0;
function check(name, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} - ${name}${ok || !detail ? '' : `: ${detail}`}`);
  if (!ok) failures++;
}

// The fixture's stacks as the test reads them, independently of the binary: [root frames, frames, count].
function readFolded(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter(l => l.trim()).map(line => {
    const sp = line.lastIndexOf(' ');
    const frames = line.slice(0, sp).split(';');
    const roots = frames[0].startsWith('thread (') ? [frames.shift()] : [];
    return { roots, frames, count: Number(line.slice(sp + 1)) };
  });
}

function render(fixture, args) {
  const json = path.join(OUT, `${path.basename(fixture, '.folded')}.speedscope.json`);
  const r = spawnSync(BINARY, [...args, '-o', json, fixture], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pyflame-speedscope exited ${r.status}: ${r.stderr}`);
  // The wrapper speedscope's CLI writes (bin/cli.mjs): the file's bytes in base64, under its base name.
  const js = json.replace(/\.json$/, '.js');
  const b64 = fs.readFileSync(json).toString('base64');
  fs.writeFileSync(js, `speedscope.loadFileFromBase64(${JSON.stringify(path.basename(json))}, ${JSON.stringify(b64)})`);
  return { json, js, data: JSON.parse(fs.readFileSync(json, 'utf8')) };
}


const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
const context = await browser.newContext({ viewport: { width: 1300, height: 800 } });
// Offline: only file: URLs.
await context.route(u => !u.href.startsWith('file:'), route => route.abort());

async function open(name, file) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(`page error: ${e.message}`));
  page.on('console', m => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('dialog', d => { errors.push(`dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
  const url = `${pathToFileURL(INDEX).href}#localProfilePath=${file.js}`;
  await page.goto(url);
  // Loaded: the view tabs and a drawn canvas; the landing page's "Drag and drop" text is gone.
  let loaded = true;
  try {
    await page.getByText('Time Order').first().waitFor({ timeout: 15000 });
    await page.waitForFunction(() => [...document.querySelectorAll('canvas')].some(c => c.width > 100 && c.height > 100),
      null, { timeout: 15000 });
    await page.waitForTimeout(500);  // a frame or two for the flame chart to draw
  } catch (e) {
    loaded = false;
    errors.push(`not loaded: ${e.message.split('\n')[0]}`);
  }
  const body = await page.evaluate(() => document.body.innerText);
  check(`${name}: the profile loads in the Time Order view`, loaded, errors.join('; '));
  check(`${name}: no import error (no "Something went wrong", "Unrecognized format", alert or page error)`,
    errors.length === 0 && !/Something went wrong|Unrecognized format|Failed to load/i.test(body), errors.join('; ') || body.slice(0, 200));
  await page.screenshot({ path: path.join(OUT, `${name}-time-order.png`) });
  return { page, body, errors };
}

// Frame names shown in the Sandwich view's table (DOM text, unlike the canvas of the flame chart).
async function sandwichNames(page, name) {
  await page.getByText('Sandwich').first().click();
  await page.waitForTimeout(500);
  await page.screenshot({ path: path.join(OUT, `${name}-sandwich.png`) });
  return page.evaluate(() => document.body.innerText);
}

try {
  // ---- one profile
  {
    const fixture = path.join(FIXTURES, 'basic.folded');
    const stacks = readFolded(fixture);
    const file = render(fixture, ['--name', 'basic profile']);
    const { page, body } = await open('basic', file);
    check('basic: the toolbar shows the profile name', body.includes('basic profile'), body.slice(0, 200));
    const text = await sandwichNames(page, 'basic');
    const leafNames = [...new Set(stacks.map(s => s.frames[s.frames.length - 1].replace(/ \(.*\)$/, '')))];
    const missing = leafNames.filter(n => !text.includes(n));
    check(`basic: every leaf function of the fixture is listed (${leafNames.length})`, missing.length === 0,
      `missing ${missing.join(', ')}`);
    check('basic: the frame named <script>alert(1)</script> is text', text.includes('<script>alert(1)</script>'));
    // Hovering a frame of the flame chart shows its file and line (split out of "func (file:line)").
    await page.getByText('Time Order').first().click();
    await page.waitForTimeout(300);
    await page.mouse.move(100, 153);  // the root frame, "main (app.py:1)", in the flame chart under the minimap
    await page.waitForTimeout(300);
    const hover = await page.evaluate(() => document.body.innerText);
    await page.screenshot({ path: path.join(OUT, 'basic-hover.png') });
    check('basic: hovering the root frame shows its name, file and line (main, app.py:1)',
      /\bmain\b/.test(hover) && hover.includes('app.py:1'), hover.slice(-200));
    await page.close();
  }
  // ---- a real three-thread recording: one profile per thread, the busiest first
  {
    const fixture = path.join(FIXTURES, 'threads.folded');
    const stacks = readFolded(fixture);
    const totals = new Map();
    for (const s of stacks) totals.set(s.roots[0], (totals.get(s.roots[0]) || 0) + s.count);
    const busiest = [...totals.entries()].sort((a, b) => b[1] - a[1])[0][0];
    const file = render(fixture, ['--interval', '1ms']);
    check('threads: one profile per thread', file.data.profiles.length === totals.size,
      `${file.data.profiles.length} profiles for ${totals.size} threads`);
    const { page, body } = await open('threads', file);
    check(`threads: the busiest thread is shown first (${busiest})`, body.includes(busiest), body.slice(0, 300));
    check('threads: the toolbar counts the profiles', body.includes(`(1/${totals.size})`) ||
      body.includes(`1/${totals.size}`), body.slice(0, 300));
    const text = await sandwichNames(page, 'threads');
    check('threads: times are shown in time units (--interval 1ms)', /\d\.\d\dms/.test(text), text.slice(0, 300));
    const busyLeaves = [...new Set(stacks.filter(s => s.roots[0] === busiest).map(s => s.frames[s.frames.length - 1].replace(/ \(.*\)$/, '')))];
    check(`threads: frames of ${busiest} are listed`, busyLeaves.some(n => text.includes(n)), busyLeaves.join(','));
    // "thread (" appears once: in the toolbar's profile name, not as a frame in the table.
    check('threads: the thread root frames are not frames of the samples', text.split('thread (').length === 2,
      text.slice(0, 300));
    await page.close();
  }
} catch (e) {
  check('the tests ran to the end', false, e.stack);
} finally {
  await browser.close();
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
