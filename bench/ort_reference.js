#!/usr/bin/env node
// ONNX Runtime reference outputs for a model with any number of inputs and outputs of any
// numeric dtype (the real third-party models: several inputs, int64 scalars, recurrent state).
// Usage: node bench/ort_reference.js MODEL.onnx CASE_DIR [--prefix P] [--threads N] [--repeat R]
// Feeds CASE_DIR/in_K.npy to the K-th graph input (graph order, initializers excluded), runs
// once, and writes the K-th output to CASE_DIR/<P>K.npy (P defaults to "ort_"; a P with a '/' is
// a path of its own), keeping its dtype
// (float32, float64, int64, int32, uint8, int8, bool). With --repeat R, times R more runs and
// prints the median milliseconds per run on stdout. A summary line goes to stderr.
// Must not depend on deepcomp: it is the independent reference the C++ runtime is checked against.
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

// .npy descr <-> ORT tensor type and typed array.
const DTYPES = {
  '<f4': {ort: 'float32', Array: Float32Array},
  '<f8': {ort: 'float64', Array: Float64Array},
  '<i8': {ort: 'int64', Array: BigInt64Array},
  '<i4': {ort: 'int32', Array: Int32Array},
  '<i2': {ort: 'int16', Array: Int16Array},
  '|i1': {ort: 'int8', Array: Int8Array},
  '|u1': {ort: 'uint8', Array: Uint8Array},
  '|b1': {ort: 'bool', Array: Uint8Array},
};
const DESCR_OF_ORT = Object.fromEntries(Object.entries(DTYPES).map(([d, v]) => [v.ort, d]));

function readNpyTyped(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shape || /'fortran_order'\s*:\s*True/.test(header)) {
    throw new Error(`${file}: unsupported .npy header ${header.trim()}`);
  }
  const type = DTYPES[descr[1]];
  if (!type) throw new Error(`${file}: dtype ${descr[1]} not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const bytes = count * type.Array.BYTES_PER_ELEMENT;
  if (buf.length - start !== bytes) throw new Error(`${file}: shape [${dims}] needs ${bytes} bytes`);
  const data = new type.Array(count);
  Buffer.from(data.buffer).set(buf.subarray(start));
  return new ort.Tensor(type.ort, type.ort === 'bool' ? Array.from(data, (x) => x !== 0) : data, dims);
}

function writeNpyTyped(file, tensor) {
  const descr = DESCR_OF_ORT[tensor.type];
  if (!descr) throw new Error(`${file}: output type ${tensor.type} not supported`);
  const dims = tensor.dims;
  const shapeText = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  dict += ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre.writeUInt16LE(dict.length, 8);
  const data = tensor.type === 'bool' ? Uint8Array.from(tensor.data, (x) => (x ? 1 : 0)) : tensor.data;
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(dict, 'latin1'),
                                        Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

function parseArgs(argv) {
  const opts = {positional: [], prefix: 'ort_', threads: 1, repeat: 0};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--prefix') opts.prefix = argv[++i];
    else if (a === '--threads') opts.threads = Number(argv[++i]);
    else if (a === '--repeat') opts.repeat = Number(argv[++i]);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else opts.positional.push(a);
  }
  if (opts.positional.length !== 2 || !(opts.threads >= 1) || !(opts.repeat >= 0)) {
    throw new Error('usage: ort_reference.js MODEL.onnx CASE_DIR [--prefix P] [--threads N] [--repeat R]');
  }
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const [model, dir] = opts.positional;
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: opts.threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all', logSeverityLevel: 3});
  const feeds = {};
  session.inputNames.forEach((name, k) => { feeds[name] = readNpyTyped(path.join(dir, `in_${k}.npy`)); });
  const result = await session.run(feeds);
  // A prefix with a folder part (e.g. /tmp/x/ort_) writes there instead of CASE_DIR.
  const base = opts.prefix.includes('/') ? opts.prefix : path.join(dir, opts.prefix);
  session.outputNames.forEach((name, k) => writeNpyTyped(`${base}${k}.npy`, result[name]));
  if (opts.repeat > 0) {
    const times = [];
    for (let r = 0; r < opts.repeat; r++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    process.stdout.write(`${times[times.length >> 1].toFixed(4)}\n`);
  }
  process.stderr.write(`${model}: ${session.inputNames.length} inputs, outputs ` +
                       session.outputNames.map((n) => `${result[n].type}[${result[n].dims}]`).join(' ') +
                       `, onnxruntime-node ${ort.env.versions ? ort.env.versions.common : '?'}\n`);
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`ort_reference.js: ${e.message}\n`);
    process.exit(1);
  });
}
