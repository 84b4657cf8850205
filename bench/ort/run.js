#!/usr/bin/env node
// Runs and times ONNX models in ONNX Runtime (onnxruntime-node), to check
// kconv's ONNX exports against kconv's own outputs and speed.
//
//   node run.js run MODEL.onnx IN.npy OUT.npy [--threads T]
//       Feeds IN.npy (float32, C order) to the model's first input and writes
//       its first output to OUT.npy (float32).
//   node run.js bench MODEL.onnx [--batch N] [--threads T] [--runs R] [--warmup W]
//   node run.js profile MODEL.onnx [--batch N] [--threads T] [--runs R] [--warmup W]
//       Runs with ONNX Runtime's profiler and prints each node's mean
//       kernel time in ms (tab-separated: node, op, ms), slowest first.
//       Times R runs (after W warm-up runs) on uniform random inputs in
//       [0, 1) with the symbolic dimensions set to N; prints
//       session_ms=… first_ms=… median_ms=… min_ms=… tokens.
//
// Sessions use every graph optimization ('all'), sequential execution and
// T intra-op threads (0: ONNX Runtime's default). onnxruntime-node is found
// through NODE_PATH, e.g.
//   NODE_PATH=/work/ort/node_modules node bench/ort/run.js bench m.onnx
'use strict';

const fs = require('fs');
const os = require('os');

function usage(msg) {
  if (msg) console.error('run.js: ' + msg);
  console.error('usage: run.js run MODEL.onnx IN.npy OUT.npy [--threads T]\n' +
    '       run.js bench MODEL.onnx [--batch N] [--threads T] [--runs R] [--warmup W]\n' +
    '       run.js profile MODEL.onnx [--batch N] [--threads T] [--runs R] [--warmup W]');
  process.exit(2);
}

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    console.error('run.js: cannot load onnxruntime-node (set NODE_PATH to the node_modules folder holding it): ' + e.message);
    process.exit(1);
  }
}

// parseFlags splits argv into positional arguments and --name value flags.
function parseFlags(argv, known) {
  const pos = [];
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (!(name in known)) usage('unknown flag ' + a);
      const val = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (val === undefined) usage('flag --' + name + ' needs a value');
      const n = Number(val);
      if (!Number.isInteger(n) || n < 0) usage('--' + name + ' wants a whole number, got ' + val);
      flags[name] = n;
    } else {
      pos.push(a);
    }
  }
  return { pos, flags: Object.assign({}, known, flags) };
}

// readNpy reads a float32 C-order .npy file (format 1.0, 2.0 or 3.0).
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') {
    throw new Error(path + ': not a .npy file');
  }
  const major = buf[6];
  let hlen, off;
  if (major === 1) {
    hlen = buf.readUInt16LE(8);
    off = 10;
  } else if (major === 2 || major === 3) {
    hlen = buf.readUInt32LE(8);
    off = 12;
  } else {
    throw new Error(path + ': unsupported .npy version ' + major);
  }
  const header = buf.toString('latin1', off, off + hlen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeM) throw new Error(path + ': bad .npy header ' + header);
  if (descr[1] !== '<f4' && descr[1] !== '=f4') throw new Error(path + ': dtype ' + descr[1] + ', want float32 (<f4)');
  if (fortran[1] !== 'False') throw new Error(path + ': Fortran order is not supported');
  const shape = shapeM[1].split(',').map(s => s.trim()).filter(s => s !== '').map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = off + hlen;
  if (buf.length - start !== count * 4) {
    throw new Error(path + ': ' + (buf.length - start) + ' data bytes for shape (' + shape + ')');
  }
  let data;
  if (os.endianness() === 'LE') {
    data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + count * 4));
  } else {
    data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = buf.readFloatLE(start + 4 * i);
  }
  return { shape, data };
}

// writeNpy writes a float32 C-order .npy file (format 1.0).
function writeNpy(path, shape, data) {
  const dims = shape.length === 1 ? shape[0] + ',' : shape.join(', ');
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + '), }';
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; i++) body.writeFloatLE(data[i], 4 * i);
  fs.writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

async function session(ort, model, threads, extra) {
  const opts = Object.assign({ graphOptimizationLevel: 'all', executionMode: 'sequential', logSeverityLevel: 3 }, extra || {});
  if (threads > 0) {
    opts.intraOpNumThreads = threads;
    opts.interOpNumThreads = 1;
  }
  return ort.InferenceSession.create(model, opts);
}

async function runMode(argv) {
  const { pos, flags } = parseFlags(argv, { threads: 0 });
  if (pos.length !== 3) usage('run needs MODEL.onnx IN.npy OUT.npy');
  const [model, inPath, outPath] = pos;
  const ort = loadOrt();
  const x = readNpy(inPath);
  const s = await session(ort, model, flags.threads);
  const feeds = {};
  feeds[s.inputNames[0]] = new ort.Tensor('float32', x.data, x.shape);
  const res = await s.run(feeds);
  const y = res[s.outputNames[0]];
  if (y.type !== 'float32') throw new Error('first output has type ' + y.type + ', want float32');
  writeNpy(outPath, Array.from(y.dims), y.data);
  console.log('wrote ' + outPath + ' shape=(' + y.dims.join(',') + ')');
}

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// randomFeeds makes uniform [0, 1) float32 inputs for s, its symbolic
// dimensions set to batch.
function randomFeeds(ort, s, batch) {
  const feeds = {};
  s.inputNames.forEach((name, i) => {
    const md = s.inputMetadata ? s.inputMetadata[i] : undefined;
    if (!md || !md.isTensor || md.shape.length === 0) throw new Error('input ' + name + ' has no known shape');
    const shape = md.shape.map(d => (typeof d === 'number' && d > 0 ? d : batch));
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    let r = 0x9e3779b9;
    for (let j = 0; j < n; j++) {
      r ^= r << 13; r ^= r >>> 17; r ^= r << 5;
      data[j] = (r >>> 0) / 4294967296;
    }
    feeds[name] = new ort.Tensor('float32', data, shape);
  });
  return feeds;
}

async function benchMode(argv) {
  const { pos, flags } = parseFlags(argv, { batch: 1, threads: 0, runs: 10, warmup: 1 });
  if (pos.length !== 1) usage('bench needs MODEL.onnx');
  if (flags.batch < 1 || flags.runs < 1) usage('--batch and --runs must be positive');
  const ort = loadOrt();
  const t0 = process.hrtime.bigint();
  const s = await session(ort, pos[0], flags.threads);
  const sessionMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const feeds = randomFeeds(ort, s, flags.batch);
  const times = [];  let firstMs = 0;
  for (let i = 0; i < flags.warmup + flags.runs; i++) {
    const t = process.hrtime.bigint();
    await s.run(feeds);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (i === 0) firstMs = ms;
    if (i >= flags.warmup) times.push(ms);
  }
  const fmt = v => v.toFixed(2);
  console.log(`model=${pos[0]} batch=${flags.batch} threads=${flags.threads} runs=${flags.runs} ` +
    `session_ms=${fmt(sessionMs)} first_ms=${fmt(firstMs)} median_ms=${fmt(median(times))} min_ms=${fmt(Math.min(...times))} ` +
    `peak_rss_mb=${(process.resourceUsage().maxRSS * 1024 / 1e6).toFixed(0)}`);
}

// profileMode runs the model with ONNX Runtime's profiler on and prints
// each node's mean kernel time over the timed runs (the warm-up runs'
// events are dropped), slowest first, with names as the ONNX file has
// them (ORT's _output_0 and _nchwc suffixes of fused nodes removed), for
// bench/profile.sh to set beside kconv's own step profile.
async function profileMode(argv) {
  const { pos, flags } = parseFlags(argv, { batch: 1, threads: 0, runs: 10, warmup: 2 });
  if (pos.length !== 1) usage('profile needs MODEL.onnx');
  if (flags.batch < 1 || flags.runs < 1) usage('--batch and --runs must be positive');
  const ort = loadOrt();
  const dir = fs.mkdtempSync(require('path').join(os.tmpdir(), 'ortprof-'));
  try {
    const s = await session(ort, pos[0], flags.threads, { enableProfiling: true, profileFilePrefix: require('path').join(dir, 'p') });
    const feeds = randomFeeds(ort, s, flags.batch);
    for (let i = 0; i < flags.warmup + flags.runs; i++) await s.run(feeds);
    s.endProfiling();
    const files = fs.readdirSync(dir).filter(f => f.endsWith('.json'));
    if (files.length !== 1) throw new Error('ONNX Runtime wrote ' + files.length + ' profile files');
    const events = JSON.parse(fs.readFileSync(require('path').join(dir, files[0]), 'utf8'));
    const seen = new Map(), total = new Map(), ops = new Map();
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      const n = e.name.slice(0, -'_kernel_time'.length).replace(/_output_0(_nchwc)?$/, '');
      const k = (seen.get(n) || 0) + 1;
      seen.set(n, k);
      if (k <= flags.warmup) continue;
      total.set(n, (total.get(n) || 0) + e.dur / 1000);
      ops.set(n, (e.args && e.args.op_name) || '');
    }
    const rows = [...total.entries()].sort((a, b) => b[1] - a[1]);
    const sum = rows.reduce((a, r) => a + r[1], 0) / flags.runs;
    console.log(`ort_profile model=${pos[0]} batch=${flags.batch} threads=${flags.threads} runs=${flags.runs} total_ms=${sum.toFixed(3)}`);
    for (const [n, t] of rows) console.log(`${n}\t${ops.get(n)}\t${(t / flags.runs).toFixed(4)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const [mode, ...rest] = process.argv.slice(2);
  switch (mode) {
    case 'run':
      return runMode(rest);
    case 'bench':
      return benchMode(rest);
    case 'profile':
      return profileMode(rest);
    default:
      usage(mode ? 'unknown mode ' + mode : '');
  }
}

main().catch(e => {
  console.error('run.js: ' + (e && e.message ? e.message : e));
  process.exit(1);
});
