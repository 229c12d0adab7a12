#!/usr/bin/env node
// Browser tests of pyflame-html's report (src/core/render/assets/report.js) in Debian's Chromium via playwright-core.
//
// usage: node html.test.mjs PATH/TO/pyflame-html OUTPUT_DIR [GEN_FOLDED]
//
// Writes its own fixtures into OUTPUT_DIR (a Python file, one with a hostile name and a hostile line, folded stacks
// naming them), renders them, and checks the page: no console error; zoom; search with its matched share; the
// table's sorting; a function's source with gutter numbers equal to `pyflame-html --json`; the thread picker; the
// differential colours; hostile text staying text. With GEN_FOLDED (../shared/bench/gen_folded.py), the 200,000-line
// profile must open within OPEN_LIMIT_MS. Expected values come from the fixtures' own counts or from --json.
// Prints one line per check; exits 1 if any check fails, 2 if the tests cannot run at all.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// The README's figure for the 200,000-line profile (about 5 s on a quiet 2-core machine), with room for a loaded one.
const OPEN_LIMIT_MS = Number(process.env.PYFOLD_HTML_OPEN_LIMIT_MS || 15000);

function die(msg) {
  console.error(`browser-html: ${msg}`);
  process.exit(2);
}

const [binaryArg, outArg, genArg] = process.argv.slice(2);
if (!binaryArg || !outArg) die('usage: node html.test.mjs PATH/TO/pyflame-html OUTPUT_DIR [GEN_FOLDED]');
const BINARY = path.resolve(binaryArg);
const OUT = path.resolve(outArg, 'html');
if (!fs.existsSync(BINARY)) die(`pyflame-html not found at ${BINARY}`);
if (!fs.existsSync(CHROMIUM)) die(`chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM=)`);
fs.mkdirSync(OUT, { recursive: true });
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  die(`cannot load playwright-core (run "npm install" in ${HERE}): ${e.message}`);
}

// ------------------------------------------------------------------------------------------------ fixtures
const DEMO = path.join(OUT, 'demo.py');
fs.writeFileSync(DEMO, ['def work(n):', '    total = 0', '    for i in range(n):', '        total += i * i',
  '    return total', '', 'def rec(n):', '    return rec(n - 1) if n else 0', '', 'def main():', '    work(10)',
  '    rec(3)', '    helper()', ''].join('\n'));
const HOSTILE_NAME = 'x<img src=y onerror=alert(3)>.py';
const HOSTILE = path.join(OUT, HOSTILE_NAME);
const HOSTILE_LINE = 'x = "</script><script>alert(4)</script><b>bold</b>"';
fs.writeFileSync(HOSTILE, `import os\n${HOSTILE_LINE}\n`);
const d = DEMO, h = HOSTILE;
const BASIC = [
  [`main (${d}:11);work (${d}:4)`, 30],
  [`main (${d}:11);work (${d}:3)`, 10],
  [`main (${d}:12);rec (${d}:8);rec (${d}:8);rec (${d}:8)`, 5],
  [`main (${d}:12);rec (${d}:8)`, 2],
  [`main (${d}:13);<b>helper</b> (${h}:2)`, 7],
  [`main (${d}:13);native_call`, 4],
];
const TOTAL = BASIC.reduce((s, l) => s + l[1], 0);
fs.writeFileSync(path.join(OUT, 'basic.folded'), BASIC.map(([s, c]) => `${s} ${c}\n`).join(''));
fs.writeFileSync(path.join(OUT, 'threads.folded'), [
  `thread (11): MainThread;main (${d}:11);work (${d}:4) 6`,
  `thread (12): Worker;rec (${d}:8) 3`,
  `thread (13): Other;main (${d}:12) 1`].join('\n') + '\n');
fs.writeFileSync(path.join(OUT, 'diff.folded'), [
  `main (${d}:11);work (${d}:4) 5 25`,
  `main (${d}:12);rec (${d}:8) 20 4`,
  `main (${d}:13);native_call 3 3`].join('\n') + '\n');

function render(name, extra = []) {
  const input = path.join(OUT, `${name}.folded`), page = path.join(OUT, `${name}.html`);
  const r = spawnSync(BINARY, [...extra, input, '-o', page], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pyflame-html ${name}: exit ${r.status}: ${r.stderr}`);
  const j = spawnSync(BINARY, ['--json', ...extra, input], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (j.status !== 0) throw new Error(`pyflame-html --json ${name}: exit ${j.status}: ${j.stderr}`);
  return { page, json: JSON.parse(j.stdout) };
}

// ------------------------------------------------------------------------------------------------ harness
let failures = 0;
async function check(name, fn) {
  try {
    const note = await fn();
    console.log(`ok   - ${name}${note ? ` (${note})` : ''}`);
  } catch (e) {
    failures++;
    console.log(`FAIL - ${name}: ${e && e.message ? e.message : e}`);
  }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }
function eq(a, b, msg) { if (a !== b) throw new Error(`${msg}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`); }
const fmt = v => v.toLocaleString('en-US');

const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
await context.route(u => !u.href.startsWith('file:'), route => route.abort());

async function open(file, timeout = 30000) {
  const page = await context.newPage();
  page.errors = [];
  page.dialogs = [];
  page.on('console', m => { if (m.type() === 'error') page.errors.push(m.text()); });
  page.on('pageerror', e => page.errors.push(String(e)));
  page.on('dialog', dlg => { page.dialogs.push(dlg.message()); dlg.dismiss().catch(() => {}); });
  const t0 = Date.now();
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-ready="1"]', { timeout });
  page.openMs = Date.now() - t0;
  return page;
}
// Clicks the middle of a node's box in the flame graph (a real mouse click on the canvas).
async function clickNode(page, node) {
  const at = await page.evaluate(i => {
    const r = window.pyfoldReport.rectOf(i);
    if (!r) return null;
    const canvas = document.getElementById('flame');
    canvas.scrollIntoView({ block: 'nearest' });
    const box = document.getElementById('flame-box');
    box.scrollTop = Math.max(0, r.y - box.clientHeight / 2);
    const b = canvas.getBoundingClientRect();
    return { x: b.left + r.x + Math.min(r.w / 2, 40), y: b.top + r.y + r.h / 2 };
  }, node);
  assert(at, `node ${node} is not drawn`);
  await page.mouse.click(at.x, at.y);
}
const nodeOf = (page, texts) => page.evaluate(t => window.pyfoldReport.findNode(t), texts);

// ------------------------------------------------------------------------------------------------ checks
console.log(`# ${BINARY}\n# ${CHROMIUM} ${browser.version()}\n# artifacts in ${OUT}`);
let basic;
try {
  basic = render('basic');
} catch (e) {
  console.log(`FAIL - render: ${e.message}`);
  process.exit(1);
}
const page = await open(basic.page);

await check('the page opens with no console error and no dialog', async () => {
  eq(page.errors.length, 0, `errors ${page.errors.join('; ')}`);
  eq(await page.title(), 'basic.folded', 'title');
  const summary = await page.textContent('#summary');
  assert(summary.includes(`samples ${fmt(TOTAL)}`), summary);
});

await check('click zooms a frame: it spans the graph; Reset zoom restores', async () => {
  const main12 = await nodeOf(page, [`main (${d}:12)`]);
  assert(main12 > 0, 'no node main:12');
  await clickNode(page, main12);
  eq(await page.evaluate(() => window.pyfoldReport.state.zoom), main12, 'zoomed node');
  const r = await page.evaluate(i => window.pyfoldReport.rectOf(i), main12);
  const width = await page.evaluate(() => document.getElementById('flame').getBoundingClientRect().width);
  assert(Math.abs(r.x) < 0.01 && Math.abs(r.w - width) < 1, `zoomed rect ${JSON.stringify(r)} width ${width}`);
  const outside = await nodeOf(page, [`main (${d}:11)`]);
  eq(await page.evaluate(i => window.pyfoldReport.rectOf(i), outside), null, 'a frame outside the zoom is drawn');
  await page.click('#reset-zoom');
  eq(await page.evaluate(() => window.pyfoldReport.state.zoom), 0, 'zoom after reset');
});

await check('search: matched share of the samples (a match inside a match counts once)', async () => {
  await page.fill('#search', '^rec ');
  await page.waitForFunction(() => document.getElementById('matched').textContent !== '');
  const text = await page.textContent('#matched');
  eq(text, `Matched: 7 samples, ${(100 * 7 / TOTAL).toFixed(1)}%`, 'matched');
  const rows = await page.$$eval('#functions tbody tr', trs => trs.map(tr => tr.querySelector('td div').textContent));
  eq(JSON.stringify(rows), JSON.stringify(['rec']), 'table filtered by the search');
  await page.fill('#search', '');
  await page.waitForFunction(() => document.getElementById('matched').textContent === '');
});

await check('the table sorts by each column, both ways', async () => {
  const cells = col => page.$$eval('#functions tbody tr', (trs, c) => trs.map(tr => tr.children[c].textContent), col);
  const numbers = list => list.map(t => Number(t.replace(/[,%]/g, '')));
  await page.click('#functions th[data-key=total]');
  let totals = numbers(await cells(3));
  assert(totals.every((v, i) => i === 0 || totals[i - 1] >= v), `descending ${totals}`);
  eq(totals[0], TOTAL, 'main first');
  await page.click('#functions th[data-key=total]');
  totals = numbers(await cells(3));
  assert(totals.every((v, i) => i === 0 || totals[i - 1] <= v), `ascending ${totals}`);
  await page.click('#functions th[data-key=name]');
  const names = (await page.$$eval('#functions tbody tr', trs => trs.map(tr => tr.querySelector('td div').textContent)));
  eq(JSON.stringify(names), JSON.stringify([...names].sort()), 'by name');
  await page.click('#functions th[data-key=self]');
  const self = numbers(await cells(1));
  assert(self.every((v, i) => i === 0 || self[i - 1] >= v) && self[0] === 40, `self ${self}`);
});

await check('clicking a function shows its source at its hottest line; the gutter equals --json', async () => {
  await page.click('#functions tbody tr:has-text("work")');
  eq(await page.textContent('#source-path'), DEMO, 'source path');
  eq(await page.getAttribute('#source-table tr.current', 'data-line'), '4', 'hottest line');
  const gutter = await page.$$eval('#source-table tr', trs => trs.map(tr => [tr.getAttribute('data-line'),
    tr.querySelector('td.self').textContent, tr.querySelector('td.total').textContent,
    tr.querySelector('td.code').textContent]));
  const lines = basic.json.files[DEMO].lines;
  let compared = 0;
  for (const [line, self, total, code] of gutter) {
    const expected = lines[line];
    if (!expected) { eq(self + total, '', `line ${line} has no counts`); continue; }
    eq(self, fmt(expected.self), `self of line ${line}`);
    eq(total, fmt(expected.total), `total of line ${line}`);
    compared++;
  }
  eq(compared, Object.keys(lines).length, 'lines compared');
  eq(gutter[7][3], '    return rec(n - 1) if n else 0', 'source text of line 8');
  eq(lines['8'].total, 7, 'recursion counted once');
  // The function is highlighted in the flame graph: its frames are outlined (a dark pixel on the box's edge).
  eq(await page.evaluate(() => window.pyfoldReport.state.selectedFunc >= 0), true, 'selected');
  // Callers and callees of the current line.
  const callers = await page.textContent('#callers');
  assert(callers.includes('30') && callers.includes(`main (demo.py:11)`), callers);
});

await check('a frame without a file and an unreadable file are listed with their counts', async () => {
  const rows = await page.$$eval('#functions tbody tr', trs => trs.map(tr => tr.querySelector('td div').textContent));
  assert(rows.includes('native_call'), rows.join(','));
  const r = spawnSync(BINARY, ['--json', '--source-root', `${OUT}=/nonexistent`, path.join(OUT, 'basic.folded')], { encoding: 'utf8' });
  eq(JSON.parse(r.stdout).files[DEMO].lines['4'].self, 30, 'counts without the file');
});

await check('a hostile file name and source line stay text; no markup, no script ran', async () => {
  await page.click(`#functions tbody tr:has-text("<b>helper</b>")`);
  eq(await page.textContent('#source-path'), HOSTILE, 'path as text');
  const code = await page.$eval('#source-table tr[data-line="2"] td.code', td => td.textContent);
  eq(code, HOSTILE_LINE, 'line as text');
  eq(await page.evaluate(() => document.querySelectorAll('img, #source b, #hotspots b, #calls b').length), 0, 'elements made from data');
  eq(await page.evaluate(() => document.scripts.length), 2, 'scripts: the data and report.js only');
  eq(page.dialogs.length, 0, `dialogs: ${page.dialogs.join(',')}`);
  eq(page.errors.length, 0, `errors ${page.errors.join('; ')}`);
  const options = await page.$$eval('#file-pick option', os => os.map(o => o.textContent));
  assert(options.some(t => t.includes('x<img src=y onerror=alert(3)>.py')), options.join('|'));
});

await check('icicle toggle puts the root at the top', async () => {
  const rootY = () => page.evaluate(() => window.pyfoldReport.rectOf(0).y);
  assert(await rootY() > 0, 'flame: root at the bottom');
  await page.click('#mode');
  eq(await rootY(), 0, 'icicle: root at the top');
  await page.click('#mode');
});
await page.screenshot({ path: path.join(OUT, 'report.png') });
await page.close();

await check('the thread picker restricts the graph and the table to one thread', async () => {
  const threads = render('threads');
  const p = await open(threads.page);
  const options = await p.$$eval('#thread option', os => os.map(o => o.textContent));
  eq(options.length, 4, `options ${options}`);
  const value = await p.$eval('#thread', (s) => Array.from(s.options).find(o => o.textContent.startsWith('thread (12)')).value);
  await p.selectOption('#thread', value);
  const totals = await p.$$eval('#functions tbody tr', trs => trs.map(tr => [tr.querySelector('td div').textContent, tr.children[3].textContent]));
  const names = totals.map(t => t[0]).sort();
  eq(JSON.stringify(names), JSON.stringify(['rec', 'thread (12): Worker']), 'functions of the thread');
  eq(await p.evaluate(() => window.pyfoldReport.rectOf(0)), null, 'the root is outside the thread view');
  eq(p.errors.length, 0, `errors ${p.errors.join('; ')}`);
  await p.close();
});

await check('differential input: frames and lines coloured by the change (red more, blue fewer)', async () => {
  const diff = render('diff');
  const p = await open(diff.page);
  const pixel = async texts => p.evaluate(t => {
    const R = window.pyfoldReport, i = R.findNode(t), r = R.rectOf(i), c = document.getElementById('flame');
    const g = c.getContext('2d'), k = c.width / c.getBoundingClientRect().width;
    return Array.from(g.getImageData(Math.round((r.x + 2) * k), Math.round((r.y + 2) * k), 1, 1).data);
  }, texts);
  const up = await pixel([`main (${d}:11)`, `work (${d}:4)`]), down = await pixel([`main (${d}:12)`, `rec (${d}:8)`]);
  assert(up[0] > 200 && up[2] < 100, `grown frame ${up}`);
  assert(down[2] > 200 && down[0] < 100, `shrunk frame ${down}`);
  await p.selectOption('#file-pick', { index: 1 });
  const bg = async line => p.$eval(`#source-table tr[data-line="${line}"]`, tr => getComputedStyle(tr).backgroundColor);
  assert((await bg(4)).startsWith('rgba(230, 30, 30'), `line 4 ${await bg(4)}`);
  assert((await bg(8)).startsWith('rgba(40, 90, 255'), `line 8 ${await bg(8)}`);
  const delta = await p.$eval('#source-table tr[data-line="4"] td.delta', td => td.textContent);
  eq(delta, `+${diff.json.files[DEMO].lines['4'].total_delta}`, 'gutter change');
  eq(p.errors.length, 0, `errors ${p.errors.join('; ')}`);
  await p.close();
});

const GEN = genArg ? path.resolve(genArg) : null;
if (GEN && fs.existsSync(GEN)) {
  await check(`the 200,000-line profile opens within ${OPEN_LIMIT_MS / 1000} s`, async () => {
    const input = path.join(OUT, 'gen_200000.folded');
    if (!fs.existsSync(input)) {
      const g = spawnSync('python3', [GEN, '200000'], { maxBuffer: 1 << 30 });
      if (g.status !== 0) throw new Error(`gen_folded.py: ${g.stderr}`);
      fs.writeFileSync(input, g.stdout);
    }
    const page = path.join(OUT, 'gen.html');
    const r = spawnSync(BINARY, [input, '-o', page], { encoding: 'utf8' });
    eq(r.status, 0, `pyflame-html: ${r.stderr}`);
    const p = await open(page, 120000);
    const ms = p.openMs;
    const timings = await p.evaluate(() => JSON.stringify(window.pyfoldReport.timings));
    eq(p.errors.length, 0, `errors ${p.errors.join('; ')}`);
    // Still usable: a search runs.
    const t0 = Date.now();
    await p.fill('#search', 'myapp/api');
    await p.waitForFunction(() => document.getElementById('matched').textContent !== '', null, { timeout: 60000 });
    const searchMs = Date.now() - t0;
    await p.close();
    assert(ms <= OPEN_LIMIT_MS, `opened in ${ms} ms`);
    return `opened in ${ms} ms, ${(fs.statSync(page).size / 1048576).toFixed(1)} MiB; search ${searchMs} ms; ${timings}`;
  });
} else {
  console.log('skip - the 200,000-line profile: no gen_folded.py given');
}

await browser.close();
if (failures) {
  console.log(`browser-html: ${failures} check(s) failed`);
  process.exit(1);
}
console.log('browser-html: all checks passed');
