#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime (CPU), the project's reference runtime, on a float32 .npy.
// Usage: node bench/ort_run.js MODEL.onnx IN.npy OUT.npy [--per-sample] [--threads N] [--repeat R]
// The first axis of IN.npy is the sample axis. Samples go one at a time when the model's
// first input dimension is fixed to 1 (or with --per-sample), otherwise as one batch. The
// first model output of every sample is stacked into OUT.npy (float32). Median milliseconds
// per sample go to stderr.
// Must not depend on deepcomp: it is the independent reference the C++ runtime is checked against.
'use strict';

const ort = require('onnxruntime-node');
const {readNpy, writeNpy} = require('./npy');

const product = (dims) => dims.reduce((a, b) => a * b, 1);
const isFixed = (d) => typeof d === 'number' && d >= 0;

async function createSession(modelPath, threads) {
  // One intra-op thread by default: the peers are compared single-threaded on a shared machine.
  return ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
}

// Shape to feed for `batch` samples of `sampleShape` (the .npy shape without its first axis):
// the model's own declared shape when all its non-batch dims are fixed and hold the same
// number of elements (so [8,784,1] inputs feed a [1,784,1] model), else [batch, ...sampleShape].
function feedShape(modelShape, sampleShape, batch) {
  const perSample = product(sampleShape);
  if (modelShape && modelShape.length > 0 && modelShape.slice(1).every(isFixed) &&
      product(modelShape.slice(1)) === perSample) {
    return [batch, ...modelShape.slice(1)];
  }
  return [batch, ...sampleShape];
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Runs every sample of `input` ({shape, data}) through the session. Returns
// {shape, data: Float32Array, msPerSample: number[]} with the first output stacked.
async function runAll(session, input, options = {}) {
  const inName = session.inputNames[0];
  const outName = session.outputNames[0];
  const meta = session.inputMetadata && session.inputMetadata[0];
  const modelShape = meta && meta.shape ? meta.shape : null;
  const samples = input.shape[0];
  const sampleShape = input.shape.slice(1);
  const perSample = product(sampleShape);
  const oneAtATime = options.perSample || (modelShape && modelShape[0] === 1);
  const repeat = Math.max(1, options.repeat || 1);
  const chunk = oneAtATime ? 1 : samples;
  const pieces = [];
  let outTail = null;
  const times = [];
  for (let r = 0; r < repeat; r++) {
    for (let start = 0; start < samples; start += chunk) {
      const n = Math.min(chunk, samples - start);
      const data = input.data.subarray(start * perSample, (start + n) * perSample);
      const feed = {[inName]: new ort.Tensor('float32', data, feedShape(modelShape, sampleShape, n))};
      const t0 = process.hrtime.bigint();
      const result = await session.run(feed, [outName]);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      times.push(ms / n);
      if (r > 0) continue;
      const out = result[outName];
      if (out.type !== 'float32') throw new Error(`output '${outName}' is ${out.type}, not float32`);
      // The sample axis of the output is its first; its other dims are the per-sample shape.
      const tail = out.dims[0] === n ? out.dims.slice(1) : out.dims;
      if (outTail && product(outTail) !== product(tail)) {
        throw new Error(`output '${outName}' changes shape between samples`);
      }
      outTail = tail;
      pieces.push(Float32Array.from(out.data));
    }
  }
  const total = pieces.reduce((a, p) => a + p.length, 0);
  const data = new Float32Array(total);
  let off = 0;
  for (const p of pieces) {
    data.set(p, off);
    off += p.length;
  }
  return {shape: [samples, ...outTail], data, msPerSample: times, oneAtATime};
}

function parseArgs(argv) {
  const opts = {positional: [], perSample: false, threads: 1, repeat: 1};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--per-sample') opts.perSample = true;
    else if (a === '--threads') opts.threads = Number(argv[++i]);
    else if (a === '--repeat') opts.repeat = Number(argv[++i]);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else opts.positional.push(a);
  }
  if (opts.positional.length !== 3 || !(opts.threads >= 1) || !(opts.repeat >= 1)) {
    throw new Error('usage: ort_run.js MODEL.onnx IN.npy OUT.npy [--per-sample] ' +
                    '[--threads N] [--repeat R]');
  }
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const [modelPath, inPath, outPath] = opts.positional;
  const input = readNpy(inPath);
  if (input.shape.length < 1 || input.shape[0] < 1) {
    throw new Error(`${inPath}: needs a first (sample) axis with at least one sample`);
  }
  const session = await createSession(modelPath, opts.threads);
  // Warm-up run (not timed): the first run pays for allocations and kernel selection.
  const first = {shape: [1, ...input.shape.slice(1)],
                 data: input.data.subarray(0, product(input.shape.slice(1)))};
  await runAll(session, first, {perSample: true});
  const out = await runAll(session, input, opts);
  writeNpy(outPath, out.shape, out.data);
  process.stderr.write(`${modelPath}: ${input.shape[0]} samples ` +
                       `(${out.oneAtATime ? 'one at a time' : 'one batch'}), output [${out.shape}], ` +
                       `median ${median(out.msPerSample).toFixed(4)} ms/sample, ` +
                       `onnxruntime-node ${ort.env.versions ? ort.env.versions.common : '?'}\n`);
}

module.exports = {createSession, runAll, feedShape, median, product};

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`ort_run.js: ${e.message}\n`);
    process.exit(1);
  });
}
