// Walking a ModelProto: the tensor sites (initializers and Constant-node tensors in every graph and
// subgraph), the protobuf -> Graph conversion, and putting a Model together from a stripped
// ModelProto. Loading and saving both use visit_tensor_sites so they agree on every field.
#include <google/protobuf/io/coded_stream.h>

#include <climits>
#include <cstring>
#include <unordered_set>

#include "onnx_io/internal.h"
#include "onnx_io/node_order.h"

namespace deepcomp::onnx_io::internal {

namespace {

bool is_constant_node(const onnx::NodeProto& node) {
  return node.op_type() == "Constant" && (node.domain().empty() || node.domain() == "ai.onnx");
}

bool is_constant_tensor_attr(const std::string& name) {
  return name == "value" || name == "value_float" || name == "value_floats" ||
         name == "value_int" || name == "value_ints";
}

// A node's segment in a graph path: its name, else its first output, else its index.
std::string node_segment(const onnx::NodeProto& node, int index) {
  if (!node.name().empty()) return node.name();
  if (node.output_size() > 0 && !node.output(0).empty()) return node.output(0);
  return "node" + std::to_string(index);
}

std::string join_path(const std::string& base, const std::string& seg) {
  return base.empty() ? seg : base + "/" + seg;
}

Status visit_graph(onnx::GraphProto* g, const std::string& path,
                   const std::function<Status(TensorSite&)>& fn) {
  for (onnx::TensorProto& init : *g->mutable_initializer()) {
    TensorSite site;
    site.name = init.name();
    site.kind = LocationKind::kInitializer;
    site.graph_path = path;
    site.proto = &init;
    if (site.name.empty()) return Status::Error("an initializer has no name");
    DEEPCOMP_RETURN_IF_ERROR(fn(site));
  }
  for (int n = 0; n < g->node_size(); ++n) {
    onnx::NodeProto* node = g->mutable_node(n);
    if (is_constant_node(*node)) {
      for (onnx::AttributeProto& a : *node->mutable_attribute()) {
        if (!is_constant_tensor_attr(a.name())) continue;
        if (node->output_size() == 0 || node->output(0).empty())
          return Status::Error("Constant node '" + node->name() + "' has no output");
        TensorSite site;
        site.name = node->output(0);
        site.kind = LocationKind::kConstantNode;
        site.graph_path = path;
        site.node = node->name();
        site.attribute = a.name();
        if (a.name() == "value") {
          if (!a.has_t())
            return Status::Error("Constant node '" + node_segment(*node, n) +
                                 "': attribute 'value' holds no tensor");
          site.proto = a.mutable_t();
        } else {
          site.attr = &a;
        }
        DEEPCOMP_RETURN_IF_ERROR(fn(site));
      }
    }
    for (onnx::AttributeProto& a : *node->mutable_attribute()) {
      const std::string seg = join_path(path, node_segment(*node, n) + "/" + a.name());
      if (a.has_g()) DEEPCOMP_RETURN_IF_ERROR(visit_graph(a.mutable_g(), seg, fn));
      for (int i = 0; i < a.graphs_size(); ++i)
        DEEPCOMP_RETURN_IF_ERROR(
            visit_graph(a.mutable_graphs(i), seg + "[" + std::to_string(i) + "]", fn));
    }
  }
  return Status::Ok();
}

ValueInfo convert_value_info(const onnx::ValueInfoProto& v) {
  ValueInfo out;
  out.name = v.name();
  if (v.type().has_tensor_type()) {
    const auto& tt = v.type().tensor_type();
    out.dtype = static_cast<DType>(tt.elem_type());
    if (tt.has_shape()) {
      out.has_shape = true;
      for (const auto& d : tt.shape().dim()) {
        out.dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
        out.dim_params.push_back(d.has_dim_param() ? d.dim_param() : "");
      }
    }
  }
  return out;
}

Attribute convert_attribute(const onnx::AttributeProto& a, const onnx::NodeProto& node) {
  Attribute out;
  out.name = a.name();
  if (is_constant_node(node) && is_constant_tensor_attr(a.name())) {
    // Every numeric Constant attribute is extracted into Model::tensors under the output's name.
    out.type = Attribute::Type::kTensor;
    out.tensor = node.output_size() > 0 ? node.output(0) : "";
    return out;
  }
  switch (a.type()) {
    case onnx::AttributeProto::FLOAT:
      out.type = Attribute::Type::kFloat;
      out.f = a.f();
      break;
    case onnx::AttributeProto::INT:
      out.type = Attribute::Type::kInt;
      out.i = a.i();
      break;
    case onnx::AttributeProto::STRING:
      out.type = Attribute::Type::kString;
      out.s = a.s();
      break;
    case onnx::AttributeProto::FLOATS:
      out.type = Attribute::Type::kFloats;
      out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case onnx::AttributeProto::INTS:
      out.type = Attribute::Type::kInts;
      out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case onnx::AttributeProto::STRINGS:
      out.type = Attribute::Type::kStrings;
      out.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case onnx::AttributeProto::TENSOR:
      out.type = Attribute::Type::kTensor;
      // Not extracted (it stays verbatim in the skeleton); decoded here with its dtype so the
      // runtime reads it without protobuf. An undecodable tensor leaves `value` null.
      if (auto decoded = decode_tensor_proto(a.t(), a.t().name(), ""); decoded.ok()) {
        out.value = std::make_shared<const Tensor>(std::move(decoded).value());
      }
      break;
    case onnx::AttributeProto::GRAPH:
      out.type = Attribute::Type::kGraph;
      out.graph = std::make_shared<Graph>(build_graph(a.g()));
      break;
    default:
      out.type = Attribute::Type::kOther;
  }
  return out;
}

}  // namespace

Status visit_tensor_sites(onnx::ModelProto* model, const std::function<Status(TensorSite&)>& fn) {
  return visit_graph(model->mutable_graph(), "", fn);
}

Graph build_graph(const onnx::GraphProto& g) {
  Graph out;
  out.name = g.name();
  std::unordered_set<std::string> init_names;
  for (const auto& init : g.initializer()) {
    out.initializers.push_back(init.name());
    init_names.insert(init.name());
  }
  for (const auto& in : g.input())
    if (!init_names.count(in.name())) out.inputs.push_back(convert_value_info(in));
  for (const auto& o : g.output()) out.outputs.push_back(convert_value_info(o));
  for (const auto& n : g.node()) {
    Node node;
    node.name = n.name();
    node.op_type = n.op_type();
    node.domain = n.domain();
    node.inputs.assign(n.input().begin(), n.input().end());
    node.outputs.assign(n.output().begin(), n.output().end());
    for (const auto& a : n.attribute()) node.attributes.push_back(convert_attribute(a, n));
    out.nodes.push_back(std::move(node));
  }
  order_nodes(&out);
  return out;
}

bool parse_model_proto(std::string_view bytes, onnx::ModelProto* model) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) return false;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(INT_MAX);  // the default limit is 64 MB in older protobuf releases
  return model->ParseFromCodedStream(&in) && in.ConsumedEntireMessage();
}

Result<Model> assemble_model(const onnx::ModelProto& stripped, std::vector<Tensor> tensors,
                             const std::string& display_name) {
  Model m;
  m.ir_version = stripped.ir_version();
  m.producer_name = stripped.producer_name();
  m.producer_version = stripped.producer_version();
  for (const auto& op : stripped.opset_import()) m.opsets.push_back({op.domain(), op.version()});
  m.graph = build_graph(stripped.graph());
  if (stripped.ByteSizeLong() > static_cast<size_t>(INT_MAX))
    return Status::Error(display_name + ": the model without its tensors exceeds 2 GB");
  if (!stripped.SerializeToString(&m.skeleton))
    return Status::Error(display_name + ": cannot serialize the model skeleton");
  m.tensors = std::move(tensors);
  assign_roles(&m);
  return m;
}

}  // namespace deepcomp::onnx_io::internal
