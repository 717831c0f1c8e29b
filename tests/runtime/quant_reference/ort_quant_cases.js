#!/usr/bin/env node
// Runs every model written by make_quant_cases.py with ONNX Runtime (CPU) on its NAME_in*.npy and
// saves each output as NAME_out<k>.npy (k = position among the graph outputs): the expected
// values of tests/runtime/quant_ops_test.cc. Independent of deepcomp's runtime on purpose.
// Usage (repository root): NODE_PATH=bench/node_modules node tests/runtime/quant_reference/ort_quant_cases.js
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');
const {readNpy, writeNpy} = require('../../../bench/npy');

async function main() {
  const dir = __dirname;
  // The PyTorch references (lstm.onnx, ...) have no NAME_in0.npy and are left alone.
  const models = fs.readdirSync(dir).filter((f) => f.endsWith('.onnx') &&
      fs.existsSync(path.join(dir, f.slice(0, -5) + '_in0.npy')));
  for (const file of models.sort()) {
    const name = file.slice(0, -5);
    const session = await ort.InferenceSession.create(path.join(dir, file));
    const feeds = {};
    session.inputNames.forEach((input, k) => {
      const a = readNpy(path.join(dir, `${name}_in${k}.npy`));
      feeds[input] = new ort.Tensor('float32', a.data, a.shape);
    });
    const out = await session.run(feeds);
    session.outputNames.forEach((output, k) => {
      writeNpy(path.join(dir, `${name}_out${k}.npy`), out[output].dims, out[output].data);
    });
    process.stdout.write(`${name}: ${session.outputNames.length} outputs\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`ort_quant_cases.js: ${e.message}\n`);
  process.exit(1);
});
