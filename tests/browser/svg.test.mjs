#!/usr/bin/env node
// Browser tests for the interactive SVG written by pyflame-svg (src/core/render/assets/flamegraph.js + README.md).
//
// usage: node svg.test.mjs PATH/TO/pyflame-svg OUTPUT_DIR
//
// Renders tests/browser/fixtures/*.folded with the binary (`pyflame-svg [OPTIONS] FILE`, SVG on stdout), opens the
// SVGs from file:// URLs in Debian's Chromium through playwright-core, and checks zoom, search, URL state, escaping
// and ignore-case.  Expected values come from the fixture's own counts, computed here independently of the page.
// Prints one line per check; exits 1 if any check fails, 2 if the tests cannot run at all.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.join(HERE, 'fixtures');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function die(msg) {
  console.error(`browser-svg: ${msg}`);
  process.exit(2);
}

const [binaryArg, outArg] = process.argv.slice(2);
if (!binaryArg || !outArg) die('usage: node svg.test.mjs PATH/TO/pyflame-svg OUTPUT_DIR');
const BINARY = path.resolve(binaryArg);
const OUT = path.resolve(outArg);
if (!fs.existsSync(BINARY)) die(`pyflame-svg not found at ${BINARY}`);
if (!fs.existsSync(CHROMIUM)) die(`chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM=)`);
fs.mkdirSync(OUT, { recursive: true });

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  die(`cannot load playwright-core (run "npm install" in ${HERE}): ${e.message}`);
}

// ------------------------------------------------------------------------------------------------ fixture model

// The fixture's call tree with counts, keyed by the path of names from "all".
function loadFolded(file) {
  const root = { name: 'all', path: ['all'], count: 0, kids: new Map(), parent: null };
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const sp = line.lastIndexOf(' ');
    const count = Number(line.slice(sp + 1));
    root.count += count;
    let node = root;
    for (const name of line.slice(0, sp).split(';')) {
      if (!node.kids.has(name)) {
        node.kids.set(name, { name, path: [...node.path, name], count: 0, kids: new Map(), parent: node });
      }
      node = node.kids.get(name);
      node.count += count;
    }
  }
  const byKey = new Map();
  (function walk(n) { byKey.set(key(n.path), n); for (const k of n.kids.values()) walk(k); })(root);
  return { root, byKey };
}

function key(p) { return p.join('\u0000'); }

function findNode(model, pathNames) {
  const n = model.byKey.get(key(['all', ...pathNames]));
  if (!n) throw new Error(`fixture has no frame ${pathNames.join(';')}`);
  return n;
}

// Expected "Matched" coverage: within the subtree of `view` (the zoomed frame, or the root), count a matching
// frame's samples unless a frame between it and the view already matched; a matching ancestor of the view (drawn
// full width) covers everything.
function expectedMatched(model, re, view) {
  view = view || model.root;
  for (let a = view.parent; a; a = a.parent) if (re.test(a.name)) return { covered: view.count, whole: view.count };
  let covered = 0;
  (function walk(n) {
    if (re.test(n.name)) { covered += n.count; return; }
    for (const k of n.kids.values()) walk(k);
  })(view);
  return { covered, whole: view.count };
}

function pctText({ covered, whole }) {
  if (covered >= whole) return 'Matched: 100%';
  return `Matched: ${(100 * covered / whole).toFixed(1)}%`;
}

function fitLabel(name, width, cfg) {
  const chars = Math.floor(width / (cfg.fontsize * cfg.fontwidth));
  if (!(chars >= 3)) return '';
  const cps = Array.from(name);
  if (cps.length <= chars) return name;
  return cps.slice(0, chars - 2).join('') + '..';
}

function nameOf(title) { return title.replace(/ ?\([^()]*\)$/, ''); }

// ------------------------------------------------------------------------------------------------ rendering

const helpText = (() => {
  const r = spawnSync(BINARY, ['--help'], { encoding: 'utf8' });
  return `${r.stdout || ''}${r.stderr || ''}`;
})();

function render(fixture, extraArgs, outName) {
  const args = [...extraArgs, fixture];
  const r = spawnSync(BINARY, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.error) throw new Error(`cannot run ${BINARY}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${path.basename(BINARY)} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  if (!r.stdout.includes('<svg')) throw new Error(`${path.basename(BINARY)} ${args.join(' ')} wrote no SVG to stdout`);
  const file = path.join(OUT, outName);
  fs.writeFileSync(file, r.stdout);
  return pathToFileURL(file).href;
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
function skip(name, why) { console.log(`skip - ${name}: ${why}`); }

function assert(cond, msg) { if (!cond) throw new Error(msg); }
function eq(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
function near(actual, expected, tol, what) {
  if (!(Math.abs(actual - expected) <= tol)) throw new Error(`${what}: expected ${expected} (±${tol}), got ${actual}`);
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
const context = await browser.newContext({ viewport: { width: 1300, height: 900 } });
// Nothing in these tests needs the network: refuse anything that is not a local file.
await context.route(u => !u.href.startsWith('file:'), route => route.abort());

// One page per check. `answers` feeds window.prompt; every dialog is recorded (the XSS check wants no alert).
async function open(url) {
  const page = await context.newPage();
  page.dialogs = [];
  page.answers = [];
  page.errors = [];
  page.on('pageerror', e => page.errors.push(String(e)));
  page.on('dialog', async d => {
    page.dialogs.push({ type: d.type(), message: d.message() });
    if (d.type() === 'prompt' && page.answers.length) await d.accept(page.answers.shift());
    else await d.dismiss();
  });
  await page.goto(url);
  await page.waitForFunction(() => typeof window.fg_config === 'object');
  return page;
}

async function close(page) {
  const errs = page.errors;
  await page.close();
  if (errs.length) throw new Error(`script errors in the page: ${errs.join('; ')}`);
}

// Everything the checks look at, from the live DOM.
function snapshot(page) {
  return page.evaluate(() => {
    const $ = id => document.getElementById(id);
    const frames = Array.from($('frames').children).map(g => {
      const r = g.querySelector('rect'), t = g.querySelector('text'), ti = g.querySelector('title');
      return {
        tag: g.localName, cls: g.getAttribute('class') || '', title: ti ? ti.textContent : null,
        x: r.getAttribute('x'), w: r.getAttribute('width'), y: r.getAttribute('y'),
        fx: r.getAttribute('fg:x'), fw: r.getAttribute('fg:w'), fill: r.getAttribute('fill'),
        tx: t ? t.getAttribute('x') : null, label: t ? t.textContent : null,
      };
    });
    const ui = {};
    for (const id of ['details', 'unzoom', 'search', 'ignorecase', 'matched', 'title']) {
      const e = $(id);
      ui[id] = e ? { text: e.textContent, cls: e.getAttribute('class') || '',
        display: getComputedStyle(e).display, opacity: getComputedStyle(e).opacity } : null;
    }
    return { cfg: window.fg_config, frames, ui, url: location.href,
      svgWidth: parseFloat(document.documentElement.getAttribute('width')),
      svgHeight: parseFloat(document.documentElement.getAttribute('height')) };
  });
}

// Attach fixture paths to DOM frames: depth from y, parent = the frame one level nearer the root whose
// [fg:x, fg:x+fg:w) contains this one.
function annotate(snap) {
  const ys = [...new Set(snap.frames.map(f => parseFloat(f.y)))].sort((a, b) => a - b);
  if (!snap.cfg.inverted) ys.reverse();
  const byDepth = [];
  for (const f of snap.frames) {
    f.depth = ys.indexOf(parseFloat(f.y));
    f.name = nameOf(f.title);
    (byDepth[f.depth] ||= []).push(f);
  }
  for (let d = 0; d < byDepth.length; d++) {
    for (const f of byDepth[d] || []) {
      if (d === 0) { f.path = [f.name]; continue; }
      const fx = parseFloat(f.fx), fw = parseFloat(f.fw);
      const p = (byDepth[d - 1] || []).find(q => parseFloat(q.fx) <= fx && fx + fw <= parseFloat(q.fx) + parseFloat(q.fw));
      f.path = p ? [...p.path, f.name] : [f.name];
    }
  }
  return snap;
}

function frameByPath(snap, pathNames) {
  const k = key(['all', ...pathNames]);
  const i = snap.frames.findIndex(f => key(f.path) === k);
  if (i < 0) throw new Error(`no frame ${pathNames.join(';')} in the SVG`);
  return i;
}

// Click the middle of frame i (a user's click: it may land on the label, which is part of the frame).
async function clickFrame(page, i, modifiers = []) {
  const box = await page.evaluate(i => {
    const r = document.getElementById('frames').children[i].querySelector('rect').getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width };
  }, i);
  assert(box.w > 0, `frame ${i} is not visible, cannot click it`);
  for (const m of modifiers) await page.keyboard.down(m);
  await page.mouse.click(box.x, box.y);
  for (const m of modifiers) await page.keyboard.up(m);
}

async function clickId(page, id) {
  const box = await page.evaluate(id => {
    const r = document.getElementById(id).getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width };
  }, id);
  assert(box.w > 0, `#${id} is not visible, cannot click it`);
  await page.mouse.click(box.x, box.y);
}

function params(url) { return new URL(url).searchParams; }

// The full zoom-state check, used after a click and after restoring ?x=&y=.
function assertZoomed(snap, model, zi) {
  const cfg = snap.cfg, z = snap.frames[zi];
  const full = cfg.width - 2 * cfg.xpad;
  const zx = parseFloat(z.fx), zw = parseFloat(z.fw), ratio = full / zw;
  const zk = key(z.path);
  for (const f of snap.frames) {
    const fk = key(f.path);
    const isAncestor = zk.startsWith(fk + '\u0000');
    const inSubtree = fk === zk || fk.startsWith(zk + '\u0000');
    const classes = f.cls.split(/\s+/).filter(Boolean);
    const what = `frame ${f.path.join(';')}`;
    if (isAncestor) {
      assert(classes.includes('parent') && !classes.includes('hide'), `${what} is an ancestor of the zoomed frame but has class "${f.cls}"`);
      near(parseFloat(f.x), cfg.xpad, 0.011, `${what} x`);
      near(parseFloat(f.w), full, 0.011, `${what} width`);
    } else if (inSubtree) {
      assert(!classes.includes('parent') && !classes.includes('hide'), `${what} is in the zoomed subtree but has class "${f.cls}"`);
      near(parseFloat(f.x), cfg.xpad + (parseFloat(f.fx) - zx) * ratio, 0.011, `${what} x`);
      near(parseFloat(f.w), parseFloat(f.fw) * ratio, 0.011, `${what} width`);
    } else {
      assert(classes.includes('hide'), `${what} is outside the zoomed subtree but has class "${f.cls}"`);
      continue;
    }
    if (f.label !== null) {
      const w = isAncestor ? full : parseFloat(f.fw) * ratio;
      eq(f.label, fitLabel(f.name, w, cfg), `${what} label`);
      near(parseFloat(f.tx), parseFloat(f.x) + 3, 0.011, `${what} label x`);
    }
  }
  near(parseFloat(z.w), full, 0.011, 'zoomed frame width');
  assert(snap.ui.unzoom.display !== 'none' && !snap.ui.unzoom.cls.includes('hide'), '"Reset Zoom" is not visible');
  eq(snap.ui.unzoom.text, 'Reset Zoom', '#unzoom text');
  const p = params(snap.url);
  eq(p.get('x'), z.fx, 'URL x');
  eq(p.get('y'), z.y, 'URL y');
}

function assertSearched(snap, model, re, view, term) {
  const cfg = snap.cfg;
  for (const f of snap.frames) {
    const m = re.test(f.name);
    if (m) eq(f.fill, cfg.searchcolor, `fill of matching frame ${f.path.join(';')}`);
    else assert(f.fill !== cfg.searchcolor, `frame ${f.path.join(';')} does not match ${re} but has the search colour`);
  }
  eq(snap.ui.matched.text, pctText(expectedMatched(model, re, view)), '#matched text');
  assert(snap.ui.matched.display !== 'none', '#matched is hidden');
  eq(snap.ui.search.text, 'Reset Search', '#search text');
  assert(snap.ui.search.cls.split(/\s+/).includes('show'), '#search lacks class show');
  eq(params(snap.url).get('s'), term, 'URL s');
}

function assertPristine(snap, orig, what) {
  eq(snap.frames.length, orig.frames.length, `${what}: frame count`);
  snap.frames.forEach((f, i) => {
    const o = orig.frames[i];
    for (const k of ['x', 'w', 'tx', 'label', 'fill', 'cls']) {
      eq(f[k], o[k], `${what}: ${k} of frame ${o.path ? o.path.join(';') : i}`);
    }
  });
  assert(snap.ui.unzoom.display === 'none', `${what}: "Reset Zoom" still visible`);
  const p = params(snap.url);
  assert(!p.has('x') && !p.has('y'), `${what}: URL still has x/y: ${snap.url}`);
}

// ------------------------------------------------------------------------------------------------ the checks

const BASIC = path.join(FIXTURES, 'basic.folded');
const model = loadFolded(BASIC);
let basicUrl;
try {
  basicUrl = render(BASIC, [], 'basic.svg');
} catch (e) {
  console.log(`FAIL - render fixtures/basic.folded: ${e.message}`);
  await browser.close();
  process.exit(1);
}
console.log(`# ${BINARY}\n# ${CHROMIUM} ${browser.version()}\n# artifacts in ${OUT}`);

const RUN = ['main (app.py:1)', 'run (app.py:20)'];
const MAIN = ['main (app.py:1)'];
const UNI = ['main (app.py:1)', '😀🐍_naïve_ünïcödé_function_with_a_long_name (uni.py:1)'];
const XSS = ['main (app.py:1)', '<script>alert(1)</script>'];

let orig;   // the untouched page, annotated

await check('renderer output follows the contract (ids, fg_config, fg:x/fg:w = fixture counts)', async () => {
  const page = await open(basicUrl);
  orig = annotate(await snapshot(page));
  const cfg = orig.cfg;
  for (const k of ['nametype', 'fontsize', 'fontwidth', 'xpad', 'width', 'inverted', 'searchcolor', 'total', 'countname']) {
    assert(k in cfg, `fg_config lacks "${k}"`);
  }
  eq(cfg.total, model.root.count, 'fg_config.total');
  eq(cfg.width, orig.svgWidth, 'fg_config.width vs <svg width>');
  for (const id of ['details', 'unzoom', 'search', 'ignorecase', 'matched', 'title']) assert(orig.ui[id], `no #${id}`);
  assert(orig.ui.unzoom.cls.split(/\s+/).includes('hide'), '#unzoom should start with class hide');
  eq(orig.frames[0].name, 'all', 'first frame');
  eq(orig.frames.length, model.byKey.size, 'number of frames');
  const seen = new Set();
  for (const f of orig.frames) {
    const n = model.byKey.get(key(f.path));
    assert(n, `SVG frame ${f.path.join(';')} is not in the fixture`);
    assert(!seen.has(key(f.path)), `frame ${f.path.join(';')} appears twice`);
    seen.add(key(f.path));
    eq(Number(f.fw), n.count, `fg:w of ${f.path.join(';')}`);
  }
  await close(page);
  return `${orig.frames.length} frames, total ${cfg.total}`;
});
if (orig) {
  await check('renderer labels follow the README rule floor(width / (fontsize * fontwidth))', async () => {
    // The renderer uses the unrounded width: allow for the rounding of the printed width.
    const bad = [];
    for (const f of orig.frames) {
      const w = parseFloat(f.w);
      if (![w - 0.1, w, w + 0.1].some(ww => fitLabel(f.name, ww, orig.cfg) === f.label)) {
        bad.push(`${f.name} (width ${f.w}): expected ${JSON.stringify(fitLabel(f.name, w, orig.cfg))}, got ${JSON.stringify(f.label)}`);
      }
    }
    assert(!bad.length, `${bad.length} of ${orig.frames.length} labels differ: ${bad.slice(0, 3).join('; ')}`);
  });
}
if (!orig) {
  console.log('FAIL - cannot continue without a readable SVG');
  await browser.close();
  process.exit(1);
}

await check('1. click zooms a frame (full width, parents, hidden, Reset Zoom, ?x=&y=, labels re-fitted)', async () => {
  const page = await open(basicUrl);
  const zi = frameByPath(orig, RUN);
  await clickFrame(page, zi);
  const s = annotate(await snapshot(page));
  assertZoomed(s, model, zi);
  // details line while zoomed
  await page.mouse.move(0, 0);
  const ci = frameByPath(orig, [...RUN, 'compute (work.py:5)']);
  const box = await page.evaluate(i => {
    const r = document.getElementById('frames').children[i].querySelector('rect').getBoundingClientRect();
    return { x: r.left + 2, y: r.top + r.height / 2 };
  }, ci);
  await page.mouse.move(box.x, box.y);
  const details = await page.evaluate(() => document.getElementById('details').textContent);
  const c = findNode(model, [...RUN, 'compute (work.py:5)']), r = findNode(model, RUN);
  eq(details, `${orig.cfg.nametype} ${orig.frames[ci].title}, ${(100 * c.count / r.count).toFixed(2)}% of zoomed frame`, 'details line');
  await close(page);
});

await check('1b. zoom into a narrow frame re-fits its code-point label; clicking a parent zooms out to it; clicking the root resets', async () => {
  const page = await open(basicUrl);
  await clickFrame(page, frameByPath(orig, UNI));
  assertZoomed(annotate(await snapshot(page)), model, frameByPath(orig, UNI));
  await clickFrame(page, frameByPath(orig, MAIN));          // now a `parent`
  assertZoomed(annotate(await snapshot(page)), model, frameByPath(orig, MAIN));
  await clickFrame(page, 0);                                 // "all"
  assertPristine(annotate(await snapshot(page)), orig, 'after clicking the root');
  await close(page);
});

await check('1c. details line on mouse-over', async () => {
  const page = await open(basicUrl);
  const i = frameByPath(orig, RUN);
  const box = await page.evaluate(i => {
    const r = document.getElementById('frames').children[i].querySelector('rect').getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  }, i);
  await page.mouse.move(box.x, box.y);
  eq(await page.evaluate(() => document.getElementById('details').textContent),
    `${orig.cfg.nametype} ${orig.frames[i].title}`, 'details while over the frame');
  await page.mouse.move(1, 1);
  eq(await page.evaluate(() => document.getElementById('details').textContent), ' ', 'details after leaving');
  await close(page);
});

await check('2. search: colour, Matched % (union, not double-counted), hidden frames excluded while zoomed', async () => {
  const page = await open(basicUrl);
  const notes = [];
  // Search button -> prompt
  page.answers.push('^parse ');
  await clickId(page, 'search');
  eq(page.dialogs.length, 1, 'prompts shown');
  let s = annotate(await snapshot(page));
  assertSearched(s, model, /^parse /, null, '^parse ');
  notes.push(s.ui.matched.text);
  // clicking "Reset Search" clears
  await clickId(page, 'search');
  s = annotate(await snapshot(page));
  eq(s.ui.search.text, 'Search', '#search text after reset');
  assert(s.ui.matched.display === 'none' || s.ui.matched.text.trim() === '', '#matched still shown after reset');
  assert(!params(s.url).has('s'), 'URL still has s after reset');
  s.frames.forEach((f, i) => eq(f.fill, orig.frames[i].fill, `fill of ${f.path.join(';')} after reset`));
  // Ctrl-F: a parent and its child both match: counted once
  page.answers.push('^(run|compute) ');
  await page.keyboard.press('Control+f');
  s = annotate(await snapshot(page));
  assertSearched(s, model, /^(run|compute) /, null, '^(run|compute) ');
  notes.push(s.ui.matched.text);
  // the regex is tested against the frame's name, not the whole title: `$` anchors at the end of the name
  page.answers.push('\\(config\\.py:40\\)$');
  await page.keyboard.press('F3');
  s = annotate(await snapshot(page));
  assertSearched(s, model, /\(config\.py:40\)$/, null, '\\(config\\.py:40\\)$');
  notes.push(s.ui.matched.text);
  // F3, then zoom: parse frames outside the zoomed subtree are hidden and not counted
  page.answers.push('^parse ');
  await page.keyboard.press('F3');
  await clickFrame(page, frameByPath(orig, RUN));
  s = annotate(await snapshot(page));
  assertZoomed(s, model, frameByPath(orig, RUN));
  assertSearched(s, model, /^parse /, findNode(model, RUN), '^parse ');
  notes.push(`zoomed ${s.ui.matched.text}`);
  eq(page.dialogs.filter(d => d.type === 'prompt').length, 4, 'prompts shown');
  await page.screenshot({ path: path.join(OUT, 'zoom-search.png') });
  // a match on an ancestor of the zoomed frame covers it all
  page.answers.push('^main ');
  await page.keyboard.press('F3');
  s = annotate(await snapshot(page));
  assertSearched(s, model, /^main /, findNode(model, RUN), '^main ');
  eq(s.ui.matched.text, 'Matched: 100%', 'ancestor match');
  await close(page);
  return notes.join(', ');
});

await check('2b. prompt: cancel keeps the search, an invalid regex is searched as text, an empty answer clears', async () => {
  const page = await open(basicUrl);
  page.answers.push('main (app');                       // unbalanced "(": literal text
  await page.keyboard.press('F3');
  let s = annotate(await snapshot(page));
  assertSearched(s, model, /main \(app/, null, 'main (app');
  await page.keyboard.press('F3');                      // no answer queued: the prompt is dismissed
  assertSearched(annotate(await snapshot(page)), model, /main \(app/, null, 'main (app');
  eq(page.dialogs.at(-1).type, 'prompt', 'last dialog');
  page.answers.push('');
  await page.keyboard.press('Control+f');
  s = annotate(await snapshot(page));
  eq(s.ui.search.text, 'Search', '#search text after an empty answer');
  assert(!params(s.url).has('s'), 'URL still has s after an empty answer');
  s.frames.forEach((f, i) => eq(f.fill, orig.frames[i].fill, `fill of ${f.path.join(';')} after an empty answer`));
  await close(page);
});

await check('3. Reset Zoom restores every frame and removes the classes', async () => {
  const page = await open(basicUrl);
  await clickFrame(page, frameByPath(orig, RUN));
  await clickFrame(page, frameByPath(orig, [...RUN, 'compute (work.py:5)']));
  await clickId(page, 'unzoom');
  assertPristine(annotate(await snapshot(page)), orig, 'after Reset Zoom');
  // search colouring survives a reset and its Matched goes back to the whole profile
  page.answers.push('^parse ');
  await page.keyboard.press('F3');
  await clickFrame(page, frameByPath(orig, RUN));
  await clickId(page, 'unzoom');
  const s = annotate(await snapshot(page));
  assertSearched(s, model, /^parse /, null, '^parse ');
  await close(page);
});

await check('4. ?s= restores a search, ?x=&y= a zoom, both together', async () => {
  const zi = frameByPath(orig, RUN);
  const z = orig.frames[zi];
  let page = await open(`${basicUrl}?s=${encodeURIComponent('^(run|compute) ')}`);
  assertSearched(annotate(await snapshot(page)), model, /^(run|compute) /, null, '^(run|compute) ');
  await close(page);
  page = await open(`${basicUrl}?x=${encodeURIComponent(z.fx)}&y=${encodeURIComponent(z.y)}`);
  assertZoomed(annotate(await snapshot(page)), model, zi);
  await close(page);
  page = await open(`${basicUrl}?x=${encodeURIComponent(z.fx)}&y=${encodeURIComponent(z.y)}&s=${encodeURIComponent('^parse ')}`);
  const s = annotate(await snapshot(page));
  assertZoomed(s, model, zi);
  assertSearched(s, model, /^parse /, findNode(model, RUN), '^parse ');
  await close(page);
});

await check('5. a frame named <script>alert(1)</script> is text, not markup', async () => {
  const page = await open(basicUrl);
  const i = frameByPath(orig, XSS);
  const got = await page.evaluate(i => {
    const g = document.getElementById('frames').children[i];
    return { title: g.querySelector('title').textContent, scripts: document.getElementsByTagName('script').length,
      odd: Array.from(document.querySelectorAll('#frames title')).map(t => t.textContent).find(t => t.startsWith('A&B')) };
  }, i);
  assert(got.title.includes('<script>alert(1)</script>'), `title text is ${JSON.stringify(got.title)}`);
  eq(got.scripts, 1, 'number of <script> elements');
  assert(got.odd && got.odd.startsWith(`A&B "q" 'r' <x> &amp (odd.py:3) (`), `title of the A&B frame is ${JSON.stringify(got.odd)}`);
  await clickFrame(page, i);                       // zoom to it: its label is re-fitted through textContent
  const s = annotate(await snapshot(page));
  assertZoomed(s, model, i);
  eq(s.frames[i].label, '<script>alert(1)</script>', 'zoomed label');
  await page.mouse.move(1, 1);
  const box = await page.evaluate(i => {
    const r = document.getElementById('frames').children[i].querySelector('rect').getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  }, i);
  await page.mouse.move(box.x, box.y);
  const details = await page.evaluate(() => document.getElementById('details').textContent);
  assert(details.includes('<script>alert(1)</script>'), `details is ${JSON.stringify(details)}`);
  page.answers.push('<script>');
  await page.keyboard.press('F3');
  assertSearched(annotate(await snapshot(page)), model, /<script>/, findNode(model, XSS), '<script>');
  eq(page.dialogs.filter(d => d.type !== 'prompt').length, 0, 'non-prompt dialogs (alert fired?)');
  await close(page);
});

await check('6. ignore-case toggle (ic button and Ctrl-I) re-runs the search', async () => {
  const page = await open(basicUrl);
  page.answers.push('parse_helper');
  await page.keyboard.press('F3');
  let s = annotate(await snapshot(page));
  assertSearched(s, model, /parse_helper/, null, 'parse_helper');
  const before = s.ui.matched.text;
  await clickId(page, 'ignorecase');
  s = annotate(await snapshot(page));
  assert(s.ui.ignorecase.cls.split(/\s+/).includes('show'), '#ignorecase lacks class show when on');
  eq(s.ui.ignorecase.opacity, '1', '#ignorecase opacity when on');
  assertSearched(s, model, /parse_helper/i, null, 'parse_helper');
  const after = s.ui.matched.text;
  await page.keyboard.press('Control+i');
  s = annotate(await snapshot(page));
  assert(!s.ui.ignorecase.cls.split(/\s+/).includes('show'), '#ignorecase still has class show when off');
  assertSearched(s, model, /parse_helper/, null, 'parse_helper');
  await page.keyboard.press('Control+i');
  s = annotate(await snapshot(page));
  assertSearched(s, model, /parse_helper/i, null, 'parse_helper');
  await close(page);
  return `${before} -> ${after}`;
});

// Optional features, exercised when the binary advertises them in --help.
if (/--inverted\b/.test(helpText)) {
  await check('7. inverted (icicle) graph: zoom and search', async () => {
    const url = render(BASIC, ['--inverted'], 'basic-inverted.svg');
    const page = await open(url);
    const inv = annotate(await snapshot(page));
    eq(inv.cfg.inverted, true, 'fg_config.inverted');
    const zi = frameByPath(inv, RUN);
    await clickFrame(page, zi);
    page.answers.push('^parse ');
    await page.keyboard.press('F3');
    const s = annotate(await snapshot(page));
    assertZoomed(s, model, zi);
    assertSearched(s, model, /^parse /, findNode(model, RUN), '^parse ');
    await close(page);
  });
} else skip('7. inverted graph', 'pyflame-svg --help does not mention --inverted');

if (/--nameattr\b/.test(helpText)) {
  await check('8. <a> frames (--nameattr): plain click follows the link, Ctrl+click zooms', async () => {
    const attrFile = path.join(OUT, 'nameattr.txt');
    fs.writeFileSync(attrFile, `${RUN[1]}\thref=https://example.invalid/run\ttarget=_top\n`);
    const url = render(BASIC, ['--nameattr', attrFile], 'basic-links.svg');
    let page = await open(url);
    const links = annotate(await snapshot(page));
    const zi = frameByPath(links, RUN);
    eq(links.frames[zi].tag, 'a', 'element of the linked frame');
    await clickFrame(page, zi, ['Control']);
    assertZoomed(annotate(await snapshot(page)), model, zi);
    await close(page);
    // plain click: the script neither zooms nor cancels the link's default action (a listener added after
    // init's runs after the script's, records that, then cancels the navigation so the page stays)
    page = await open(url);
    await page.evaluate(() => window.addEventListener('click', e => {
      window.__plain = { prevented: e.defaultPrevented, unzoomHidden: document.getElementById('unzoom').classList.contains('hide') };
      e.preventDefault();
    }));
    await clickFrame(page, zi);
    const plain = await page.evaluate(() => window.__plain);
    assert(plain && plain.prevented === false, `plain click on an <a> frame: default action prevented (${JSON.stringify(plain)})`);
    assert(plain.unzoomHidden, 'plain click on an <a> frame zoomed');
    assert(!params(page.url()).has('x'), 'plain click on an <a> frame set ?x=');
    await close(page);
    page = await open(url);
    const req = page.waitForRequest(r => r.url().startsWith('https://example.invalid/'), { timeout: 5000 });
    await clickFrame(page, zi);
    await req;
    await page.close();
  });
} else skip('8. <a> frames', 'pyflame-svg --help does not mention --nameattr');

await check('9. 10,000 frames: zoom, search and reset stay fast', async () => {
  const lines = [];
  for (let i = 0; i < 3400; i++) lines.push(`main;mod${i % 50};func${i};leaf_a ${1 + (i % 7)}`, `main;mod${i % 50};func${i};leaf_b ${2 + (i % 5)}`);
  const big = path.join(OUT, 'big.folded');
  fs.writeFileSync(big, lines.join('\n') + '\n');
  // keep every frame (the default --minwidth 0.1 px would drop the 1-sample leaves)
  const page = await open(render(big, /--minwidth\b/.test(helpText) ? ['--minwidth', '0'] : [], 'big.svg'));
  const n = await page.evaluate(() => document.getElementById('frames').children.length);
  assert(n >= 10000, `only ${n} frames rendered`);
  const ms = await page.evaluate(() => {
    const frames = document.getElementById('frames').children;
    const click = el => el.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    const t0 = performance.now();
    click(frames[1].querySelector('rect'));              // "main": everything stays visible
    window.prompt = () => 'leaf_a';
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'F3', keyCode: 114, bubbles: true }));
    click(document.getElementById('unzoom'));
    return performance.now() - t0;
  });
  const m = await page.evaluate(() => document.getElementById('matched').textContent);
  assert(ms < 2000, `zoom + search + reset took ${ms.toFixed(0)} ms`);
  await close(page);
  return `${n} frames, zoom+search+reset ${ms.toFixed(0)} ms, ${m}`;
});

await check('10. --python: short labels (also after zoom), the full text in the tooltip, details and search', async () => {
  const app = path.join(HERE, '..', '..', 'samples', 'app.folded');
  const page = await open(render(app, ['--python'], 'python.svg'));
  const frames = () => page.evaluate(() => Array.from(document.getElementById('frames').children).map(g => ({
    title: g.querySelector('title').textContent, label: g.querySelector('text').textContent,
    short: g.querySelector('rect').getAttribute('fg:label') })));
  let all = await frames();
  const mod = all.findIndex(f => f.title.startsWith('<module> (/') && f.title.includes('app.py:55)'));
  assert(mod >= 0, 'no <module> frame with an absolute path in its title');
  eq(all[mod].label, '<module> (app.py:55)', 'the root module frame is labelled relative to the script directory');
  const dumps = all.findIndex(f => /^dumps \(\/.*\/lib\/python3\.\d+\/json\/__init__\.py:\d+\) /.test(f.title));
  assert(dumps >= 0, 'no json dumps frame with a full stdlib path in its title');
  assert(/^dumps \(json\/__init__\.py:\d+\)$/.test(all[dumps].short), `short label of dumps: ${all[dumps].short}`);
  // Zoomed, the frame is wide: its whole short label is drawn, not the path.
  await clickFrame(page, dumps);
  all = await frames();
  eq(all[dumps].label, all[dumps].short, 'label after zooming into dumps');
  // The details line and the search use the full text.
  const box = await page.evaluate(i => {
    const r = document.getElementById('frames').children[i].querySelector('rect').getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  }, dumps);
  await page.mouse.move(box.x, box.y);
  const details = await page.evaluate(() => document.getElementById('details').textContent);
  assert(details.includes('/json/__init__.py:'), `details line keeps the full path: ${details}`);
  page.answers.push('lib/python3');
  await page.keyboard.press('F3');
  const matched = await page.evaluate(() => document.getElementById('matched').textContent);
  assert(/Matched: [1-9]/.test(matched), `a search for a full-path part matches: ${JSON.stringify(matched)}`);
  await close(page);
});

await check('11. a graph taller than the window opens scrolled to its root; an icicle graph at the top', async () => {
  const deep = path.join(OUT, 'deep.folded');
  const frames = Array.from({ length: 120 }, (_, i) => `f${i} (deep.py:${i + 1})`);
  fs.writeFileSync(deep, `${frames.join(';')} 5\n${frames.slice(0, 60).join(';')} 3\n`);
  for (const inverted of [false, true]) {
    const page = await open(render(deep, inverted ? ['--inverted'] : [], inverted ? 'deep-icicle.svg' : 'deep.svg'));
    const s = await page.evaluate(() => {
      const root = Array.from(document.getElementById('frames').children)
        .find(g => g.querySelector('title').textContent.startsWith('all ')).querySelector('rect').getBoundingClientRect();
      return { y: window.pageYOffset, inner: window.innerHeight, top: root.top, bottom: root.bottom,
        height: document.documentElement.getBoundingClientRect().height };
    });
    assert(s.height > s.inner, `the test graph must be taller than the window (${s.height} <= ${s.inner})`);
    if (inverted) {
      eq(s.y, 0, 'icicle graph scroll position');
    } else {
      assert(s.y > 0, 'the flame graph did not scroll');
      assert(s.top >= 0 && s.bottom <= s.inner, `the root frame is not on screen: ${JSON.stringify(s)}`);
    }
    await close(page);
  }
});

// Playwright's inputValue() wants an HTML document's INPUT; in the SVG (XML) the element is read directly.
const fieldValue = page => page.evaluate(() => document.querySelector('#searchfield input').value);

await check('12. the visible search field: typing searches (colour, Matched, ?s=), ?s= fills it, clearing resets', async () => {
  const page = await open(basicUrl);
  const field = page.locator('#searchfield input');
  assert(await field.isVisible(), 'no visible search field');
  await field.fill('compute');
  let st = await page.evaluate(() => ({ m: document.getElementById('matched').textContent, url: location.href,
    btn: document.getElementById('search').textContent }));
  assert(/^Matched: [1-9]/.test(st.m), `typing did not search: ${st.m}`);
  eq(params(st.url).get('s'), 'compute', '?s= after typing');
  eq(st.btn, 'Reset Search', 'search button after typing');
  await field.fill('');
  st = await page.evaluate(() => ({ m: document.getElementById('matched').textContent, url: location.href }));
  eq(st.m, ' ', 'Matched after clearing the field');
  eq(params(st.url).get('s'), null, '?s= after clearing the field');
  await close(page);
  const restored = await open(basicUrl + '?s=compute');
  eq(await fieldValue(restored), 'compute', 'field filled from ?s=');
  restored.answers.push('main');
  await restored.keyboard.press('F3');
  eq(await fieldValue(restored), 'main', 'field follows a search from the F3 prompt');
  await close(restored);
});

await check('screenshot artifact', async () => {
  const page = await open(basicUrl);
  await clickFrame(page, frameByPath(orig, MAIN));
  page.answers.push('^parse ');
  await page.keyboard.press('F3');
  const file = path.join(OUT, 'browser-svg.png');
  await page.screenshot({ path: file, clip: { x: 0, y: 0, width: orig.cfg.width, height: orig.svgHeight } });
  await close(page);
  return file;
});

await browser.close();
if (failures) {
  console.log(`browser-svg: ${failures} check(s) failed`);
  process.exit(1);
}
console.log('browser-svg: all checks passed');
