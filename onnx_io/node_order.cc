#include "onnx_io/node_order.h"

#include <functional>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace deepcomp::onnx_io {
namespace {

// Names a subgraph reads from its enclosing scopes: used by its nodes (and, recursively, their
// subgraphs) but neither produced there nor one of its inputs or initializers.
void add_free_names(const Graph& g, std::unordered_set<std::string>* out) {
  std::unordered_set<std::string> local(g.initializers.begin(), g.initializers.end());
  for (const ValueInfo& in : g.inputs) local.insert(in.name);
  for (const Node& n : g.nodes)
    for (const std::string& o : n.outputs) local.insert(o);
  std::unordered_set<std::string> used;
  for (const Node& n : g.nodes) {
    for (const std::string& i : n.inputs) used.insert(i);
    for (const Attribute& a : n.attributes)
      if (a.graph) add_free_names(*a.graph, &used);
  }
  for (const std::string& name : used)
    if (!name.empty() && !local.count(name)) out->insert(name);
}

}  // namespace

void order_nodes(Graph* graph) {
  std::vector<Node>& nodes = graph->nodes;
  const size_t n = nodes.size();
  std::unordered_map<std::string, size_t> producer;
  for (size_t k = 0; k < n; ++k)
    for (const std::string& o : nodes[k].outputs)
      if (!o.empty()) producer.emplace(o, k);  // the first producer, if a name has several
  // Edges producer -> consumer, one per distinct producer of each node.
  std::vector<std::vector<size_t>> consumers(n);
  std::vector<size_t> waiting(n, 0);
  bool sorted = true;
  for (size_t k = 0; k < n; ++k) {
    std::unordered_set<std::string> reads(nodes[k].inputs.begin(), nodes[k].inputs.end());
    for (const Attribute& a : nodes[k].attributes)
      if (a.graph) add_free_names(*a.graph, &reads);
    std::unordered_set<size_t> from;
    for (const std::string& name : reads) {
      auto it = producer.find(name);
      if (it != producer.end() && it->second != k) from.insert(it->second);
    }
    for (size_t p : from) {
      consumers[p].push_back(k);
      ++waiting[k];
      sorted = sorted && p < k;
    }
  }
  if (sorted) return;
  // Kahn's algorithm, always taking the earliest ready node in file order.
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t k = 0; k < n; ++k)
    if (waiting[k] == 0) ready.push(k);
  std::vector<size_t> order;
  std::vector<bool> placed(n, false);
  while (!ready.empty()) {
    const size_t k = ready.top();
    ready.pop();
    order.push_back(k);
    placed[k] = true;
    for (size_t c : consumers[k])
      if (--waiting[c] == 0) ready.push(c);
  }
  for (size_t k = 0; k < n; ++k)
    if (!placed[k]) order.push_back(k);  // a cycle
  std::vector<Node> reordered;
  reordered.reserve(n);
  for (size_t k : order) reordered.push_back(std::move(nodes[k]));
  nodes = std::move(reordered);
}

}  // namespace deepcomp::onnx_io
