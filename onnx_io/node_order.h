// Topological order for a graph's nodes. ONNX requires nodes in topological order, but real
// exports break it (onnxconverter-common's float16 conversion appends the Cast nodes it inserts
// at the end of the list, after their consumers) and ONNX Runtime sorts them itself. So does
// onnx_io, on the protobuf-free Graph only: the skeleton keeps the file's order byte for byte.
#pragma once

#include "core/model.h"

namespace deepcomp::onnx_io {

// Reorders graph->nodes so that every node comes after the producers of its inputs, including
// the names its subgraphs (If, Loop, Scan bodies) take from this graph. Stable: an already
// sorted graph keeps its order, and among nodes ready at once the earlier in the file goes
// first. Nodes caught in a cycle keep their relative order at the end, where the runtime
// reports the first input it cannot find. Subgraphs are ordered by build_graph as they are
// built.
void order_nodes(Graph* graph);

}  // namespace deepcomp::onnx_io
