#!/usr/bin/env node
// Validates speedscope files against speedscope's own file-format-schema.json (from the `speedscope` npm package)
// with ajv, plus the rules speedscope's importer enforces that a JSON schema cannot state (src/lib/file-format.ts,
// src/lib/profile.ts): one weight per sample, weights >= 0, frame indices that exist, endValue >= startValue.
//
// usage: node speedscope_schema.mjs FILE_OR_DIRECTORY...   (a directory: every *.json in it)
// Prints one line per file; exits 1 if any file is invalid, 2 if it cannot run (no ajv / speedscope, no files).

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(HERE, 'package.json'));

function die(msg) {
  console.error(`speedscope-schema: ${msg}`);
  process.exit(2);
}

let Ajv, schema;
try {
  Ajv = require('ajv');
  Ajv = Ajv.default || Ajv;
  schema = JSON.parse(fs.readFileSync(require.resolve('speedscope/dist/release/file-format-schema.json'), 'utf8'));
} catch (e) {
  die(`cannot load ajv and speedscope's schema (run "npm install" in ${HERE}): ${e.message}`);
}
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);  // its root is a $ref to FileFormat.File

const args = process.argv.slice(2);
if (args.length === 0) die('usage: node speedscope_schema.mjs FILE_OR_DIRECTORY...');
const files = [];
for (const arg of args) {
  if (fs.statSync(arg).isDirectory()) {
    for (const f of fs.readdirSync(arg).sort()) if (f.endsWith('.json')) files.push(path.join(arg, f));
  } else {
    files.push(arg);
  }
}
if (files.length === 0) die(`no .json files in ${args.join(' ')}`);

// What speedscope's importer would reject although the schema accepts it.
function importerProblems(file) {
  const problems = [];
  const frameCount = file.shared.frames.length;
  file.profiles.forEach((p, n) => {
    if (p.type !== 'sampled') return;
    if (p.samples.length !== p.weights.length)
      problems.push(`profile ${n}: ${p.samples.length} samples but ${p.weights.length} weights`);
    p.samples.forEach((s, i) => s.forEach(f => {
      if (!Number.isInteger(f) || f < 0 || f >= frameCount) problems.push(`profile ${n} sample ${i}: no frame ${f}`);
    }));
    p.weights.forEach((w, i) => { if (!(w >= 0)) problems.push(`profile ${n} weight ${i}: ${w} (must be >= 0)`); });
    if (p.endValue < p.startValue) problems.push(`profile ${n}: endValue ${p.endValue} < startValue ${p.startValue}`);
    const sum = p.weights.reduce((a, b) => a + b, 0);
    if (Math.abs(p.endValue - p.startValue - sum) > 1e-9 * Math.max(1, sum))
      problems.push(`profile ${n}: endValue - startValue = ${p.endValue - p.startValue}, weights sum to ${sum}`);
  });
  if (file.activeProfileIndex !== undefined && !(file.activeProfileIndex < file.profiles.length))
    problems.push(`activeProfileIndex ${file.activeProfileIndex} with ${file.profiles.length} profiles`);
  return problems;
}

let failed = 0;
for (const f of files) {
  let data;
  try {
    data = JSON.parse(fs.readFileSync(f, 'utf8'));
  } catch (e) {
    console.log(`FAIL - ${f}: not JSON: ${e.message}`);
    failed++;
    continue;
  }
  const problems = validate(data) ? importerProblems(data)
    : validate.errors.map(e => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  if (problems.length) {
    failed++;
    console.log(`FAIL - ${f}:\n  ${problems.slice(0, 10).join('\n  ')}`);
  } else {
    console.log(`ok   - ${f}`);
  }
}
console.log(`${files.length - failed} of ${files.length} files valid`);
process.exit(failed ? 1 : 0);
