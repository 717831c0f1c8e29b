#!/usr/bin/env node
// Checks that ONNX Runtime (through ort_run.js's code path) reproduces the stored reference
// outputs of every model in a directory: MODEL.onnx with reference/MODEL.inputs.npy and
// reference/MODEL.outputs.npy, within a tolerance (default 1e-4, absolute for values up to 1 in
// magnitude, relative above). Exit status 1 when any model is off or fails to run.
// Usage: node bench/ort_check_reference.js [MODELS_DIR (default ../shared/models beside the repository)] [--tol T]
// Must not depend on deepcomp.
'use strict';

const fs = require('fs');
const path = require('path');
const {readNpy} = require('./npy');
const {createSession, runAll, median} = require('./ort_run');

async function checkModel(dir, name, tol) {
  const ref = path.join(dir, 'reference');
  const input = readNpy(path.join(ref, `${name}.inputs.npy`));
  const expected = readNpy(path.join(ref, `${name}.outputs.npy`));
  const session = await createSession(path.join(dir, `${name}.onnx`), 1);
  const got = await runAll(session, input, {});
  if (got.data.length !== expected.data.length) {
    return {name, ok: false, why: `output [${got.shape}] vs reference [${expected.shape}]`};
  }
  let worst = 0;
  let worstAt = 0;
  for (let i = 0; i < got.data.length; i++) {
    const e = expected.data[i];
    const err = Math.abs(got.data[i] - e) / Math.max(1, Math.abs(e));
    if (!(err <= worst)) {  // also catches NaN
      worst = err;
      worstAt = i;
    }
  }
  return {name, ok: worst <= tol, worst, worstAt, shape: got.shape,
          ms: median(got.msPerSample), mode: got.oneAtATime ? 'per-sample' : 'batch'};
}

async function main() {
  const args = process.argv.slice(2);
  let dir = require('path').join(__dirname, '..', '..', 'shared', 'models');
  let tol = 1e-4;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--tol') tol = Number(args[++i]);
    else dir = args[i];
  }
  const names = fs.readdirSync(dir).filter((f) => f.endsWith('.onnx')).map((f) => f.slice(0, -5))
      .filter((n) => fs.existsSync(path.join(dir, 'reference', `${n}.inputs.npy`))).sort();
  if (names.length === 0) throw new Error(`${dir}: no MODEL.onnx with reference/MODEL.inputs.npy`);
  let failures = 0;
  for (const name of names) {
    let r;
    try {
      r = await checkModel(dir, name, tol);
    } catch (e) {
      r = {name, ok: false, why: e.message};
    }
    if (!r.ok) failures++;
    const detail = r.why ? r.why :
        `max err ${r.worst.toExponential(2)} at ${r.worstAt}, output [${r.shape}], ` +
        `${r.mode}, median ${r.ms.toFixed(4)} ms/sample`;
    process.stdout.write(`${r.ok ? 'OK  ' : 'FAIL'} ${name}: ${detail}\n`);
  }
  process.stdout.write(`${names.length - failures}/${names.length} models match within ${tol}\n`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`ort_check_reference.js: ${e.message}\n`);
  process.exit(1);
});
