#!/usr/bin/env node
// Runs many ONNX models in ONNX Runtime (onnxruntime-node) in one process,
// for kconv's ONNX → ir → ONNX round-trip test.
//
//   node ort_cases.js JOBS.json RESULTS.json
//
// JOBS.json is a list of {"id", "model", "inputs": {name: IN.npy},
// "outputs": {name: OUT.npy}}: each model is run once on its inputs
// (float32 .npy, fed by graph input name) and the named outputs are written
// as float32 .npy. RESULTS.json gets one {"id", "error"} per job ("" when
// it ran). Sessions are those of bench/ort/run.js: every graph
// optimization, sequential execution, one thread. onnxruntime-node is found
// through NODE_PATH.
'use strict';

const fs = require('fs');

function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(path + ': not a .npy file');
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const off = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', off, off + hlen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shapeM || (descr[1] !== '<f4' && descr[1] !== '=f4')) throw new Error(path + ': want a float32 .npy, header ' + header);
  if (/'fortran_order'\s*:\s*True/.test(header)) throw new Error(path + ': Fortran order is not supported');
  const shape = shapeM[1].split(',').map(s => s.trim()).filter(s => s !== '').map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = off + hlen;
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = buf.readFloatLE(start + 4 * i);
  return { shape, data };
}

function writeNpy(path, shape, data) {
  const dims = shape.length === 1 ? shape[0] + ',' : shape.join(', ');
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + '), }';
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; i++) body.writeFloatLE(data[i], 4 * i);
  fs.writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

async function runJob(ort, job) {
  const s = await ort.InferenceSession.create(job.model, {
    graphOptimizationLevel: 'all', executionMode: 'sequential', logSeverityLevel: 3,
    intraOpNumThreads: 1, interOpNumThreads: 1,
  });
  const feeds = {};
  for (const [name, path] of Object.entries(job.inputs)) {
    const x = readNpy(path);
    feeds[name] = new ort.Tensor('float32', x.data, x.shape);
  }
  const res = await s.run(feeds);
  for (const [name, path] of Object.entries(job.outputs)) {
    const y = res[name];
    if (!y) throw new Error('no output ' + name + ' (outputs: ' + s.outputNames.join(', ') + ')');
    if (y.type !== 'float32') throw new Error('output ' + name + ' has type ' + y.type);
    writeNpy(path, Array.from(y.dims), y.data);
  }
}

async function main() {
  const [jobsPath, resultsPath] = process.argv.slice(2);
  if (!jobsPath || !resultsPath) {
    console.error('usage: ort_cases.js JOBS.json RESULTS.json');
    process.exit(2);
  }
  const ort = require('onnxruntime-node');
  const jobs = JSON.parse(fs.readFileSync(jobsPath, 'utf8'));
  const results = [];
  for (const job of jobs) {
    let error = '';
    try {
      await runJob(ort, job);
    } catch (e) {
      error = String(e && e.message ? e.message : e) || 'failed';
    }
    results.push({ id: job.id, error });
  }
  fs.writeFileSync(resultsPath, JSON.stringify(results));
}

main().catch(e => {
  console.error('ort_cases.js: ' + (e && e.message ? e.message : e));
  process.exit(1);
});
