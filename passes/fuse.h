//===- passes/fuse.h - grouping nodes into fused loop kernels --------------===//
//
// The fusion planner decides which nodes of a function run together in one loop kernel.
// It is LLVM-free: codegen/kernel_plan turns its groups into KernelSpecs, `dlc opt
// --passes=fuse` prints them as nested regions, and `--debug-only=fuse` prints the
// reason of every decision.
//
// A group has a domain: a shape S whose first `parallelDims` (pd) dims are the parallel
// index space of the kernel. Each member is read in one of four ways (FuseAccess); the
// emitter computes Row members once per parallel index (before the inner loops), Full
// members per element of S, and Once/Many members wherever they are read. The planner
// walks the nodes in reverse program order (consumers first) and asks, for every
// producer, a predicate that answers yes or no with a reason:
//  - elementwise chains with broadcasts fuse into one loop;
//  - an elementwise producer fuses into a reduction, and a reduction fuses into its
//    consumers when it is a Row value (one result per parallel index: softmax's row max
//    and row sum), so softmax and cross-entropy take one kernel per direction;
//  - a producer that is also needed outside the group becomes an extra output of the
//    group (multi-output: Adam's p', m', v' come from one loop), never a recomputation
//    of anything but cheap ops;
//  - matmul, convolution and pooling keep their own kernels; but an f32 matmul whose
//    consumers are only `add` of a row-broadcast bias vector, then optionally `max` with a
//    zero constant, takes them into its kernel as the GEMM's epilogue (bias + ReLU
//    applied in registers before the store; the product is written too only when
//    something else reads it).
// Then siblings: two loop groups over the same row domain, one a row kernel, that both
// read one full-size value element by element become one (the per-row loss terms of a
// cross-entropy join its softmax kernel: the logits are read once).
// After that, horizontal fusion: the loop kernels whose outputs are all results of the
// function and read by no other kernel -- a training step's parameter and optimizer-state
// updates, one kernel per parameter so far -- are independent of each other and of
// everything after them, so they become one kernel (FusionGroup::parts): one launch over
// the chunks of all of them, each part computed by its own loop nest exactly as before.
// Numerics do not change: every member is computed by the same scalar code as when it
// is its own kernel, reductions keep their order, and nothing is reassociated.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/ir.h"
#include "passes/pass.h"

namespace dlc {

/// How a group reads one of its members, relative to the group's domain (S, pd).
enum class FuseAccess : uint8_t {
  Row,   ///< shape S[0:pd], read only at the current parallel index: computed once per index
  Full,  ///< shape S, read only at the current element of the inner loops
  Once,  ///< read elsewhere, each element at most once (a reduction's operand, a transpose)
  Many,  ///< read repeatedly (an expanding broadcast): recomputed on every read
};

std::string_view accessName(FuseAccess a);

/// One kernel of the fused schedule.
struct FusionGroup {
  /// `fused_<ops>_<index of the last member>`, or `<mnemonic>_<index>` for one node.
  std::string name;
  /// Members in program order, with how the group reads each.
  std::vector<const Node *> nodes;
  std::vector<FuseAccess> access;
  /// The node the group was formed around.
  const Node *root = nullptr;
  /// The domain: shape S and its leading parallel dims.
  Shape shape;
  int parallelDims = 0;
  /// Values the group writes (used outside it or returned), in program order.
  std::vector<const Value *> outputs;
  /// Values the group loads (arguments, other groups' outputs), in order of first use,
  /// and how the group reads each.
  std::vector<const Value *> inputs;
  std::vector<FuseAccess> inputAccess;
  /// Members also computed by other groups (cheap ops duplicated instead of stored).
  std::vector<const Node *> duplicated;
  /// A GEMM with an epilogue: this matmul (the first member) is computed by the generated
  /// GEMM and the other members -- add of a row-broadcast bias, then optionally max with a
  /// zero constant -- are applied to each output vector before its store. `root` is the
  /// end of that chain; the product is among `outputs` only when needed elsewhere.
  const Node *gemm = nullptr;
  /// With `gemm`: the epilogue is a whole elementwise loop group over the product's
  /// shape (a weight's optimizer update, a ReLU backward mask), computed per output
  /// element of each finished block of C by the elemental generators; `root` is that
  /// group's root and its outputs are `outputs` (fuse_epilogue.cpp).
  bool gemmLoop = false;
  /// A horizontal group: independent loop kernels run as one launch. Each part is a
  /// complete group of its own (its domain, members and buffers); the horizontal group's
  /// nodes, inputs and outputs are the union of its parts', `root` the last part's root.
  std::vector<FusionGroup> parts;

  FuseAccess accessOf(const Node *n) const;
};

/// One decision of the planner: \p producer fused into \p group or kept apart.
struct FusionDecision {
  const Node *producer = nullptr;
  std::string group;
  bool fused = false;
  std::string reason;
};

struct FusionOptions {
  /// A reshape that is not fused shares its operand's storage (no kernel).
  bool aliasReshapes = true;
  /// Merge the independent update kernels into one horizontal group (FusionGroup::parts).
  bool horizontal = true;
  /// Let a GEMM take an elementwise loop group reading its product as its epilogue
  /// (FusionGroup::gemmLoop). The GPU lowering has no such epilogue.
  bool gemmLoopEpilogue = true;
};

struct FusionPlan {
  /// The groups in schedule order (a topological order of their dependences).
  std::vector<FusionGroup> groups;
  /// (reshape result, operand): no kernel, the operand's bytes reinterpreted.
  std::vector<std::pair<const Value *, const Value *>> aliases;
  /// Every decision, in the order it was taken.
  std::vector<FusionDecision> decisions;
};

/// Groups the nodes of \p f (verified) into fused kernels.
FusionPlan planFusion(const Function &f, const FusionOptions &opts = {});

/// \p f printed with each group of \p plan as a nested region in schedule order: the
/// region markers are comments, so the text still parses as the same function.
std::string printFusedFunction(const Function &f, const FusionPlan &plan);

/// The decisions of \p plan, one line each: `fuse: %3 into fused_add_exp_5: yes (...)`.
std::string formatDecisions(const Function &f, const FusionPlan &plan);

/// The `fuse` pass: plans every function; prints the decisions under
/// `--debug-only=fuse`. The grouping is a property of the kernel plan, not of the IR, so
/// the module is unchanged (returns false); `dlc opt` prints the plan's regions.
Expected<bool> fuseKernels(Module &m, const PassOptions &opts);

}  // namespace dlc
