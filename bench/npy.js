// Minimal .npy (NumPy format v1/v2/v3) reader and writer for float32 arrays, plus an IDX reader.
// Used by the ONNX Runtime peer scripts (ort_run.js, ort_eval.js, ort_check_reference.js).
// Must not depend on onnxruntime or anything outside Node's standard library, so the file
// formats can be checked on their own.
'use strict';

const fs = require('fs');
const zlib = require('zlib');

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);  // "\x93NUMPY"

// Parses the Python-dict header, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (8, 10), }
function parseNpyHeader(text, path) {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) {
    throw new Error(`${path}: malformed .npy header ${JSON.stringify(text)}`);
  }
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    if (!/^\d+$/.test(s)) throw new Error(`${path}: bad dimension '${s}' in .npy shape`);
    return Number(s);
  });
  return {descr: descr[1], fortranOrder: fortran[1] === 'True', shape: dims};
}

// Returns {shape: number[], data: Float32Array}. Only little-endian float32 in C order is
// accepted: anything else is reported rather than silently converted.
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(NPY_MAGIC)) {
    throw new Error(`${path}: not a .npy file (bad magic)`);
  }
  const major = buf[6];
  let headerLen;
  let offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new Error(`${path}: truncated .npy header`);
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    throw new Error(`${path}: unsupported .npy version ${major}`);
  }
  if (offset + headerLen > buf.length) throw new Error(`${path}: truncated .npy header`);
  const header = parseNpyHeader(buf.toString('latin1', offset, offset + headerLen), path);
  if (header.descr !== '<f4') {
    throw new Error(`${path}: dtype '${header.descr}' is not supported (need '<f4' float32)`);
  }
  if (header.fortranOrder) throw new Error(`${path}: Fortran-order arrays are not supported`);
  const count = header.shape.reduce((a, b) => a * b, 1);
  const dataStart = offset + headerLen;
  if (buf.length - dataStart !== count * 4) {
    throw new Error(`${path}: shape [${header.shape}] needs ${count * 4} data bytes, ` +
                    `file has ${buf.length - dataStart}`);
  }
  // Copy into a fresh, aligned buffer (the data offset need not be a multiple of 4).
  const data = new Float32Array(count);
  Buffer.from(data.buffer).set(buf.subarray(dataStart));
  return {shape: header.shape, data};
}

// Writes a float32 C-order .npy (version 1.0; header padded so the data starts at a
// multiple of 64 bytes, as NumPy does).
function writeNpy(path, shape, data) {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new Error(`${path}: shape [${shape}] has ${count} elements, data has ${data.length}`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pad = 64 - ((10 + dict.length + 1) % 64);
  dict += ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  NPY_MAGIC.copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(dict.length, 8);
  const f32 = Float32Array.from(data);
  fs.writeFileSync(path, Buffer.concat([pre, Buffer.from(dict, 'latin1'),
                                        Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength)]));
}

// Reads an IDX file (gzipped when the name ends in .gz) of unsigned bytes:
// returns {dims: number[], data: Uint8Array}.
function readIdxU8(path) {
  let buf = fs.readFileSync(path);
  if (path.endsWith('.gz')) buf = zlib.gunzipSync(buf);
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) {
    throw new Error(`${path}: not an IDX file (bad magic)`);
  }
  if (buf[2] !== 0x08) {
    throw new Error(`${path}: IDX element type 0x${buf[2].toString(16)} is not unsigned byte`);
  }
  const ndim = buf[3];
  if (buf.length < 4 + 4 * ndim) throw new Error(`${path}: truncated IDX header`);
  const dims = [];
  for (let i = 0; i < ndim; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndim;
  if (buf.length - start !== count) {
    throw new Error(`${path}: dims [${dims}] need ${count} data bytes, file has ${buf.length - start}`);
  }
  return {dims, data: new Uint8Array(buf.buffer, buf.byteOffset + start, count)};
}

module.exports = {readNpy, writeNpy, readIdxU8};
