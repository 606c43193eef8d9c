//===- passes/fuse_print.cpp - printing fused groups and fusion decisions --===//
//
// `dlc opt --passes=fuse` prints the function with every kernel as a nested comment
// region; `--debug-only=fuse` prints the reason of every decision.
//
//===----------------------------------------------------------------------===//
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "ir/printer.h"
#include "passes/fuse.h"
#include "passes/pass_util.h"

namespace dlc {
namespace {

/// Node lines of printFunction(f): one per node, in program order.
struct FunctionText {
  std::string header;
  std::vector<std::string> nodes;
  std::string footer;
};

FunctionText splitFunctionText(const Function &f) {
  const std::string text = printFunction(f);
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  FunctionText out;
  out.header = lines.front();
  for (size_t i = 0; i < f.numNodes(); ++i) out.nodes.push_back(lines[1 + i]);
  for (size_t i = 1 + f.numNodes(); i < lines.size(); ++i) out.footer += lines[i] + "\n";
  return out;
}

}  // namespace

std::string_view accessName(FuseAccess a) {
  switch (a) {
  case FuseAccess::Row: return "once per index";
  case FuseAccess::Full: return "per element";
  case FuseAccess::Once: return "read once";
  case FuseAccess::Many: return "recomputed per read";
  }
  DL_UNREACHABLE("covered switch");
}

std::string printFusedFunction(const Function &f, const FusionPlan &plan) {
  const FunctionText text = splitFunctionText(f);
  std::unordered_map<const Node *, size_t> index;
  for (size_t i = 0; i < f.numNodes(); ++i) index[f.nodes()[i].get()] = i;
  std::unordered_set<const Value *> printed;
  for (size_t i = 0; i < f.numArgs(); ++i) printed.insert(f.arg(i));
  std::string out = text.header + "\n";
  // Aliasing reshapes print once their operand has been printed.
  auto flushAliases = [&] {
    for (bool again = true; again;) {
      again = false;
      for (const auto &[v, owner] : plan.aliases)
        if (!printed.count(v) && printed.count(owner)) {
          out += text.nodes[index.at(v->def())] + "  // shares its operand's buffer\n";
          printed.insert(v);
          again = true;
        }
    }
  };
  flushAliases();
  // One group as a region; a horizontal group's parts as regions nested in it.
  std::function<void(const FusionGroup &, const std::string &, std::string_view)> region =
      [&](const FusionGroup &g, const std::string &indent, std::string_view what) {
        std::vector<std::string> outs, again;
        for (const Value *v : g.outputs) outs.push_back(valueLabel(f, v));
        if (!g.parts.empty()) {
          out += fmt::format("{}// kernel {}: horizontal, {} independent loops in one launch, writes {} {{\n", indent,
                             g.name, g.parts.size(), fmt::join(outs, ", "));
          for (const FusionGroup &p : g.parts) region(p, indent + "  ", "part");
          out += indent + "// }\n";
          return;
        }
        std::string shape = fmt::format("[{}]", fmt::join(g.shape, ","));
        out += fmt::format("{}// {} {}: {} over {} ({} parallel dim{}), writes {} {{\n", indent, what, g.name,
                           g.gemm || (g.nodes.size() == 1 && g.root->kind() == OpKind::MatMul) ? "matmul" : "loop",
                           shape, g.parallelDims, g.parallelDims == 1 ? "" : "s", fmt::join(outs, ", "));
        for (size_t i = 0; i < g.nodes.size(); ++i) {
          const Node *n = g.nodes[i];
          if (printed.count(n->result())) {
            again.push_back(valueLabel(f, n->result()));
            continue;
          }
          std::string line = indent + text.nodes[index.at(n)];
          if (g.gemm && n != g.gemm) line += "  // GEMM epilogue";
          else if (g.nodes.size() > 1 && !g.gemm) line += fmt::format("  // {}", accessName(g.access[i]));
          out += line + "\n";
          printed.insert(n->result());
        }
        if (!again.empty()) out += fmt::format("{}  // also computes {} again\n", indent, fmt::join(again, ", "));
        out += indent + "// }\n";
      };
  for (const FusionGroup &g : plan.groups) {
    region(g, "  ", "kernel");
    flushAliases();
  }
  return out + text.footer;
}

std::string formatDecisions(const Function &f, const FusionPlan &plan) {
  std::string out;
  for (const FusionDecision &d : plan.decisions)
    out += fmt::format("fuse: {} into {}: {} ({})\n", valueLabel(f, d.producer->result()), d.group,
                       d.fused ? "fused" : "kept apart", d.reason);
  return out;
}

Expected<bool> fuseKernels(Module &m, const PassOptions &opts) {
  DL_TRY(std::vector<Function *> funcs, selectFunctions(m, opts));
  for (const Function *f : funcs) {
    const FusionPlan plan = planFusion(*f);
    if (opts.debugEnabled("fuse")) {
      fmt::print(opts.debugStream, "fuse: @{}: {} kernel(s)\n", f->name(), plan.groups.size());
      fmt::print(opts.debugStream, "{}", formatDecisions(*f, plan));
    }
  }
  return false;
}

}  // namespace dlc
