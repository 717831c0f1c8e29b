// deepcomp: Deep Compression (pruning, k-means weight sharing, Huffman coding) for ONNX models,
// as a library. The one header to include; everything is in namespace deepcomp:
//   compress_file / compress_file_json / decompress_file   (deepcomp/compress.h)
//   inspect / energy                                       (deepcomp/reports.h)
//   Session                                                (deepcomp/session.h)
//   sweep / sensitivity                                    (deepcomp/analysis.h)
// Link with the CMake target deepcomp::deepcomp (find_package(deepcomp)) or pkg-config deepcomp.
// docs/LIBRARY.md describes the API with examples.
#pragma once

#include "deepcomp/analysis.h"
#include "deepcomp/compress.h"
#include "deepcomp/reports.h"
#include "deepcomp/session.h"
#include "deepcomp/status.h"

// The library's version, equal to `deepcomp --version`.
#define DEEPCOMP_VERSION_MAJOR 0
#define DEEPCOMP_VERSION_MINOR 1
#define DEEPCOMP_VERSION_PATCH 0
