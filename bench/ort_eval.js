#!/usr/bin/env node
// Top-1 / top-5 accuracy of an ONNX classifier under ONNX Runtime (CPU) on an IDX image set.
// Usage: node bench/ort_eval.js MODEL.onnx --images IDX[.gz] --labels IDX[.gz]
//          [--scale S] [--limit N] [--layout nchw|nhwc] [--batch B] [--threads N] [--json]
//          [--predictions OUT.txt]   (the top-1 class of each image, one per line: agreement)
// Each image is pixel * scale (default 1/255), reshaped to the model's input shape
// ([1,784,1], [1,1,28,28], [N,1,28,28], ...). Models whose first input dim is fixed run one
// image at a time; models with a symbolic batch dim run --batch images (default 100) per call.
// Must not depend on deepcomp: its counts are the reference `deepcomp eval` must match.
'use strict';

const ort = require('onnxruntime-node');
const {readIdxU8} = require('./npy');
const {createSession, product} = require('./ort_run');

const isFixed = (d) => typeof d === 'number' && d >= 0;

function parseArgs(argv) {
  const o = {positional: [], scale: 1 / 255, limit: 0, layout: null, batch: 100, threads: 1,
             json: false};
  const need = (i) => {
    if (i >= argv.length) throw new Error(`option ${argv[i - 1]} needs a value`);
    return argv[i];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--images') o.images = need(++i);
    else if (a === '--labels') o.labels = need(++i);
    else if (a === '--scale') o.scale = Number(need(++i));
    else if (a === '--limit') o.limit = Number(need(++i));
    else if (a === '--layout') o.layout = need(++i);
    else if (a === '--batch') o.batch = Number(need(++i));
    else if (a === '--threads') o.threads = Number(need(++i));
    else if (a === '--json') o.json = true;
    else if (a === '--predictions') o.predictions = need(++i);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.positional.push(a);
  }
  if (o.positional.length !== 1 || !o.images || !o.labels) {
    throw new Error('usage: ort_eval.js MODEL.onnx --images IDX --labels IDX [--scale S] ' +
                    '[--limit N] [--layout nchw|nhwc] [--batch B] [--threads N] [--json]');
  }
  if (!Number.isFinite(o.scale)) throw new Error('--scale must be a number');
  if (!(Number.isInteger(o.limit) && o.limit >= 0)) throw new Error('--limit must be >= 0');
  if (!(Number.isInteger(o.batch) && o.batch >= 1)) throw new Error('--batch must be >= 1');
  if (o.layout !== null && o.layout !== 'nchw' && o.layout !== 'nhwc') {
    throw new Error(`--layout must be nchw or nhwc, not '${o.layout}'`);
  }
  return o;
}

// Image geometry from the IDX dims: [n, H, W] (one channel) or [n, H, W, C] (stored HWC).
function imageGeometry(dims, path) {
  if (dims.length === 3) return {h: dims[1], w: dims[2], c: 1};
  if (dims.length === 4) return {h: dims[1], w: dims[2], c: dims[3]};
  throw new Error(`${path}: expected [n,H,W] or [n,H,W,C] images, got [${dims}]`);
}

// Shape of one call's input for `n` images. Fixed non-batch dims are taken from the model when
// they hold exactly H*W*C elements; symbolic ones are filled in from the image geometry.
function inputShape(modelShape, geo, layout, n, modelPath) {
  const per = geo.h * geo.w * geo.c;
  const rest = modelShape.slice(1);
  if (rest.every(isFixed)) {
    if (product(rest) !== per) {
      throw new Error(`${modelPath}: input [${modelShape}] does not hold a ${geo.h}x${geo.w}x${geo.c} ` +
                      `image (${per} values)`);
    }
    return [n, ...rest];
  }
  if (modelShape.length === 2) return [n, per];
  if (modelShape.length === 4) {
    return layout === 'nhwc' ? [n, geo.h, geo.w, geo.c] : [n, geo.c, geo.h, geo.w];
  }
  throw new Error(`${modelPath}: cannot map images onto symbolic input shape [${modelShape}]`);
}

// NCHW when the model's 4-D input has the channel count in position 1, NHWC when in position 3.
function guessLayout(modelShape, geo) {
  if (modelShape.length === 4 && modelShape[3] === geo.c && modelShape[1] !== geo.c) return 'nhwc';
  return 'nchw';
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const modelPath = o.positional[0];
  const images = readIdxU8(o.images);
  const labels = readIdxU8(o.labels);
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
    throw new Error(`${o.labels}: ${labels.dims} labels for ${images.dims[0]} images`);
  }
  const geo = imageGeometry(images.dims, o.images);
  const per = geo.h * geo.w * geo.c;
  const count = o.limit > 0 ? Math.min(o.limit, images.dims[0]) : images.dims[0];

  const session = await createSession(modelPath, o.threads);
  const inName = session.inputNames[0];
  const outName = session.outputNames[0];
  const modelShape = session.inputMetadata[0].shape;
  const layout = o.layout || guessLayout(modelShape, geo);
  const chunk = isFixed(modelShape[0]) ? modelShape[0] : o.batch;
  if (chunk !== 1 && isFixed(modelShape[0])) {
    throw new Error(`${modelPath}: fixed batch dimension ${chunk} is not supported (need 1 or symbolic)`);
  }

  let top1 = 0;
  let top5 = 0;
  let classes = 0;
  const predicted = [];
  const t0 = process.hrtime.bigint();
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    const x = new Float32Array(n * per);
    for (let i = 0; i < n; i++) {
      const src = (start + i) * per;
      const dst = i * per;
      if (layout === 'nchw' && geo.c > 1) {
        // IDX stores HWC; move channels first.
        for (let p = 0; p < geo.h * geo.w; p++) {
          for (let c = 0; c < geo.c; c++) {
            x[dst + c * geo.h * geo.w + p] = images.data[src + p * geo.c + c] * o.scale;
          }
        }
      } else {
        for (let k = 0; k < per; k++) x[dst + k] = images.data[src + k] * o.scale;
      }
    }
    const feed = {[inName]: new ort.Tensor('float32', x, inputShape(modelShape, geo, layout, n, modelPath))};
    const out = (await session.run(feed, [outName]))[outName];
    classes = out.data.length / n;
    if (!Number.isInteger(classes) || classes < 1) {
      throw new Error(`${modelPath}: output [${out.dims}] is not one score vector per image`);
    }
    for (let i = 0; i < n; i++) {
      const scores = out.data.subarray(i * classes, (i + 1) * classes);
      const label = labels.data[start + i];
      // Rank of the true label = number of classes scoring strictly higher (ties favour the
      // label only when they come from an earlier index, like a stable argmax/argsort).
      let rank = 0;
      for (let k = 0; k < classes; k++) {
        if (scores[k] > scores[label] || (scores[k] === scores[label] && k < label)) rank++;
      }
      if (rank === 0) top1++;
      if (rank < 5) top5++;
      let best = 0;  // first index of the largest score
      for (let k = 1; k < classes; k++) if (scores[k] > scores[best]) best = k;
      predicted.push(best);
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (o.predictions) require('fs').writeFileSync(o.predictions, predicted.join('\n') + '\n');
  const r = {model: modelPath, images: o.images, count, scale: o.scale, layout, classes,
             top1_correct: top1, top1: top1 / count, top5_correct: top5, top5: top5 / count,
             seconds: Number(seconds.toFixed(3)), onnxruntime_node: ort.env.versions.node};
  if (o.json) {
    process.stdout.write(JSON.stringify(r) + '\n');
  } else {
    process.stdout.write(`${modelPath}: top-1 ${top1}/${count} = ${(100 * r.top1).toFixed(2)}%, ` +
                         `top-5 ${top5}/${count} = ${(100 * r.top5).toFixed(2)}% ` +
                         `(${seconds.toFixed(2)} s, onnxruntime-node ${r.onnxruntime_node})\n`);
  }
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`ort_eval.js: ${e.message}\n`);
    process.exit(1);
  });
}
