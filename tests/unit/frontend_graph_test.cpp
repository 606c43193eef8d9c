//===- tests/unit/frontend_graph_test.cpp - Graph, Tensor ops, broadcasting ---===//
#include <gtest/gtest.h>

#include <string>

#include "frontend/graph.h"
#include "frontend/nn.h"

namespace dlc {
namespace {

/// The nodes of \p f of kind \p k, in program order.
std::vector<const Node *> nodesOf(const Function &f, OpKind k) {
  std::vector<const Node *> out;
  for (const auto &n : f.nodes())
    if (n->kind() == k) out.push_back(n.get());
  return out;
}

bool endsWith(const std::string &s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

constexpr std::string_view kThisFile = "frontend_graph_test.cpp";

TEST(FrontendGraph, ArgumentsAreParamsThenInputs) {
  Graph g("f");
  Tensor x = g.input("x", f32({4, 3}));
  Tensor w = g.param("w", {3, 2}, Init::uniform(-1, 1));
  Tensor y = g.input("y", i32({4}));
  Tensor b = g.param("b", {2}, Init::zeros());
  Tensor out = matmul(x, w) + b;
  (void)y;
  Expected<Model> m = g.finish(out);
  ASSERT_TRUE(m) << m.error().str();
  const Function &f = *m->function;
  ASSERT_EQ(f.numArgs(), 4u);
  EXPECT_EQ(f.arg(0)->name(), "w");
  EXPECT_EQ(f.arg(1)->name(), "b");
  EXPECT_EQ(f.arg(2)->name(), "x");
  EXPECT_EQ(f.arg(3)->name(), "y");
  EXPECT_EQ(f.arg(3)->type(), i32({4}));
  ASSERT_EQ(m->params.size(), 2u);
  EXPECT_EQ(m->params[0].name, "w");
  EXPECT_EQ(m->params[0].initial.type(), f32({3, 2}));
  EXPECT_EQ(m->params[1].initial, HostTensor(f32({2})));
  EXPECT_EQ(m->inputNames, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(m->function, m->module.lookup("f"));
  EXPECT_EQ(g.function(), nullptr);
}

TEST(FrontendGraph, BroadcastingInsertsExplicitBroadcasts) {
  Graph g("f");
  Tensor x = g.input("x", f32({4, 3}));
  Tensor row = g.input("row", f32({3}));
  Tensor col = g.input("col", f32({4, 1}));
  Tensor top = g.input("top", f32({1, 3}));
  Tensor s = g.scalar(2.0);

  Tensor a = x + row;  // [3] -> [4,3], dims=[1]
  ASSERT_TRUE(a.valid());
  EXPECT_EQ(a.shape(), (Shape{4, 3}));
  const Node *add = a.value()->def();
  ASSERT_EQ(add->kind(), OpKind::Add);
  EXPECT_EQ(add->operand(0), x.value());
  const Node *bc = add->operand(1)->def();
  ASSERT_NE(bc, nullptr);
  ASSERT_EQ(bc->kind(), OpKind::Broadcast);
  EXPECT_EQ(bc->operand(0), row.value());
  EXPECT_EQ(bc->attrsAs<BroadcastAttrs>().dims, (std::vector<int64_t>{1}));
  EXPECT_EQ(bc->type(), f32({4, 3}));

  // Both sides stretch: [4,1] * [1,3] -> [4,3].
  Tensor outer = col * top;
  EXPECT_EQ(outer.shape(), (Shape{4, 3}));
  const Node *mul = outer.value()->def();
  for (int i = 0; i < 2; ++i) {
    const Node *b = mul->operand(i)->def();
    ASSERT_EQ(b->kind(), OpKind::Broadcast);
    EXPECT_EQ(b->attrsAs<BroadcastAttrs>().dims, (std::vector<int64_t>{0, 1}));
  }

  // Rank 0 broadcasts with dims=[].
  Tensor scaled = s * x;
  const Node *sb = scaled.value()->def()->operand(0)->def();
  ASSERT_EQ(sb->kind(), OpKind::Broadcast);
  EXPECT_TRUE(sb->attrsAs<BroadcastAttrs>().dims.empty());

  // Equal shapes: no broadcast.
  size_t before = nodesOf(*g.function(), OpKind::Broadcast).size();
  Tensor same = x - x;
  EXPECT_EQ(nodesOf(*g.function(), OpKind::Broadcast).size(), before);
  EXPECT_EQ(same.value()->def()->kind(), OpKind::Sub);
  EXPECT_TRUE(g.ok());
}

TEST(FrontendGraph, ScalarsBecomeSplatConstants) {
  Graph g("f");
  Tensor x = g.input("x", f32({2, 5}));
  Tensor h = x * 0.5;
  const Node *mul = h.value()->def();
  ASSERT_EQ(mul->kind(), OpKind::Mul);
  const Node *c = mul->operand(1)->def();
  ASSERT_EQ(c->kind(), OpKind::Constant);
  EXPECT_EQ(c->type(), f32({2, 5}));
  EXPECT_EQ(c->attrsAs<ConstantAttrs>().values, (std::vector<double>{0.5}));

  Tensor r = 1.0 - x;  // scalar on the left stays on the left
  const Node *sub = r.value()->def();
  ASSERT_EQ(sub->kind(), OpKind::Sub);
  EXPECT_EQ(sub->operand(0)->def()->kind(), OpKind::Constant);
  EXPECT_EQ(sub->operand(1), x.value());

  Tensor n = -x;
  EXPECT_EQ(n.value()->def()->kind(), OpKind::Neg);
  Tensor rl = relu(x);
  EXPECT_EQ(rl.value()->def()->kind(), OpKind::Max);
  Tensor li = g.input("i", i32({3})) * 2;  // integer tensors take integer splats
  EXPECT_EQ(li.value()->def()->operand(1)->type(), i32({3}));
  EXPECT_TRUE(g.ok());
}

TEST(FrontendGraph, ShapeErrorNamesBothShapesAndTheCallSite) {
  Graph g("mlp");
  Tensor x = g.input("x", f32({128, 784}));
  Tensor w = g.input("w", f32({500, 512}));
  size_t nodes = g.function()->numNodes();
  const int line = __LINE__ + 1;
  Tensor y = matmul(x, w);
  EXPECT_FALSE(y.valid());
  ASSERT_NE(g.error(), nullptr);
  const Diagnostic &d = g.error()->diagnostics().front();
  EXPECT_TRUE(endsWith(d.loc.fileName(), kThisFile)) << d.loc.fileName();
  EXPECT_EQ(d.loc.line, static_cast<uint32_t>(line));
  EXPECT_NE(d.message.find("matmul"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("f32[128,784]"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("f32[500,512]"), std::string::npos) << d.message;
  std::string text = g.error()->str();
  EXPECT_NE(text.find(fmt::format("{}:{}:", kThisFile, line)), std::string::npos) << text;
  EXPECT_NE(text.find(": error: "), std::string::npos) << text;

  // The graph is poisoned: later ops are no-ops and finish() reports the first error.
  Tensor z = exp(x) + x;
  EXPECT_FALSE(z.valid());
  EXPECT_EQ(g.function()->numNodes(), nodes);
  Expected<Model> m = g.finish(x);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().diagnostics().front().loc.line, static_cast<uint32_t>(line));
}

TEST(FrontendGraph, BroadcastErrorFromAnOperatorPointsAtItsLine) {
  Graph g("f");
  Tensor a = g.input("a", f32({4, 3}));
  Tensor b = g.input("b", f32({4}));
  const int line = __LINE__ + 1;
  Tensor c = a + b;
  EXPECT_FALSE(c.valid());
  Error e = g.takeError();
  EXPECT_EQ(e.message(), "'add' operands cannot be broadcast together: f32[4,3] vs f32[4]");
  EXPECT_EQ(e.diagnostics().front().loc.line, static_cast<uint32_t>(line));
}

TEST(FrontendGraph, DTypeMismatchIsAnError) {
  Graph g("f");
  Tensor a = g.input("a", f32({3}));
  Tensor b = g.input("b", i32({3}));
  EXPECT_FALSE((a * b).valid());
  EXPECT_EQ(g.takeError().message(), "'mul' operand types differ: f32[3] vs i32[3]");
}

TEST(FrontendGraph, NodesCarryTheCallSite) {
  Graph g("f");
  Tensor x = g.input("x", f32({2, 3}));
  const int line = __LINE__ + 1;
  Tensor y = exp(x) * 2.0;
  for (const auto &n : g.function()->nodes()) {
    EXPECT_TRUE(endsWith(n->loc.fileName(), kThisFile)) << n->loc.str();
    EXPECT_EQ(n->loc.line, static_cast<uint32_t>(line)) << n->mnemonic();
  }
  // Composite layers point at the user's line, not at frontend/nn.cpp.
  const int layerLine = __LINE__ + 1;
  Tensor h = nn::linear(g, y, 4, "fc");
  ASSERT_TRUE(h.valid());
  size_t seen = 0;
  for (const auto &n : g.function()->nodes())
    if (n->loc.line == static_cast<uint32_t>(layerLine)) ++seen;
  EXPECT_GE(seen, 3u);  // matmul, broadcast, add
  EXPECT_TRUE(g.ok());

  Graph quiet("q", {.seed = 0, .recordLocations = false});
  Tensor q = exp(quiet.input("x", f32({2})));
  EXPECT_FALSE(q.value()->def()->loc.isKnown());
  EXPECT_TRUE(quiet.ok());
}

TEST(FrontendGraph, LayerErrorsPointAtTheUsersLine) {
  Graph g("f");
  Tensor logits = g.input("logits", f32({4, 10}));
  Tensor labels = g.input("labels", i32({5}));
  const int line = __LINE__ + 1;
  Tensor loss = nn::crossEntropy(logits, labels);
  EXPECT_FALSE(loss.valid());
  Error e = g.takeError();
  EXPECT_EQ(e.diagnostics().front().loc.line, static_cast<uint32_t>(line));
  EXPECT_TRUE(endsWith(e.diagnostics().front().loc.fileName(), kThisFile));
  EXPECT_NE(e.message().find("i32[5]"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("f32[4,10]"), std::string::npos) << e.message();
}

TEST(FrontendGraph, NamesAreUniqueAndChecked) {
  Graph g("f");
  Tensor x = g.input("x", f32({2}));
  Tensor a = exp(x).named("h");
  Tensor b = exp(a).named("h");
  EXPECT_EQ(a.value()->name(), "h");
  EXPECT_EQ(b.value()->name(), "h_1");
  EXPECT_TRUE(g.ok());

  Graph bad("f");
  Tensor y = bad.input("x", f32({2}));
  Tensor dup = bad.param("x", {2}, Init::zeros());
  EXPECT_FALSE(dup.valid());
  EXPECT_EQ(bad.takeError().message(), "argument name 'x' is already used in graph 'f'");
  (void)y;

  Graph args("f");
  (void)args.input("x", f32({2})).named("y");
  EXPECT_EQ(args.takeError().message(), "cannot rename argument 'x' to 'y'");

  Graph spaced("my model");
  EXPECT_FALSE(spaced.ok());

  Graph worse("f");
  Tensor z = worse.input("2x", f32({2}));
  EXPECT_FALSE(z.valid());
  EXPECT_FALSE(worse.ok());
}

TEST(FrontendGraph, ShapeOps) {
  Graph g("f");
  Tensor x = g.input("x", f32({2, 3, 4}));
  EXPECT_EQ(sum(x, 1, true).shape(), (Shape{2, 1, 4}));
  EXPECT_EQ(sum(x, {0, -1}).shape(), (Shape{3}));
  EXPECT_EQ(sum(x).shape(), Shape{});
  EXPECT_EQ(max(x, -1).shape(), (Shape{2, 3}));
  Tensor m = mean(x, 2);
  EXPECT_EQ(m.value()->def()->kind(), OpKind::Div);
  EXPECT_EQ(m.value()->def()->operand(1)->def()->attrsAs<ConstantAttrs>().values, (std::vector<double>{4.0}));
  EXPECT_EQ(reshape(x, {6, -1}).shape(), (Shape{6, 4}));
  EXPECT_EQ(transpose(x).shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(transpose(x, {0, 2, 1}).shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(slice(x, {0, 1, 0}, {2, 3, 4}, {1, 1, 2}).shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(concat({x, x}, -1).shape(), (Shape{2, 3, 8}));
  EXPECT_EQ(pad(x, {0, 1, 2}, {0, 1, 0}).shape(), (Shape{2, 5, 6}));
  EXPECT_EQ(cast(x, DType::F64).type(), f64({2, 3, 4}));
  EXPECT_EQ(less(x, x).type(), i1({2, 3, 4}));
  EXPECT_EQ(where(greater(x, g.scalar(0.0)), x, g.scalar(0.0)).shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(oneHot(g.input("y", i32({5})), 7).type(), f32({5, 7}));
  // Batched matmul broadcasts batch dims: [2,3,4] x [4,5] -> [2,3,5].
  Tensor w = g.input("w", f32({4, 5}));
  EXPECT_EQ(matmul(x, w).shape(), (Shape{2, 3, 5}));
  EXPECT_EQ(matmul(w, w, /*transposeA=*/true).shape(), (Shape{5, 5}));
  EXPECT_TRUE(g.ok());

  Graph bad("f");
  Tensor y = bad.input("y", f32({2, 3}));
  EXPECT_FALSE(reshape(y, {4, -1}).valid());
  EXPECT_EQ(bad.takeError().message(), "'reshape' cannot reshape f32[2,3] (6 elements) to [4,-1]");
  Graph bad2("f");
  EXPECT_FALSE(sum(bad2.input("y", f32({2})), 1).valid());
  EXPECT_EQ(bad2.takeError().message(), "'reduce_sum' axis 1 is out of range for rank 1");
}

TEST(FrontendGraph, FinishedGraphRejectsOps) {
  Graph g("f");
  Tensor x = g.input("x", f32({2}));
  Expected<Model> m = g.finish(exp(x));
  ASSERT_TRUE(m);
  EXPECT_FALSE(exp(x).valid());
  EXPECT_NE(g.takeError().message().find("finished"), std::string::npos);
  EXPECT_EQ(m->function->numNodes(), 1u);
}

TEST(FrontendGraph, ForeignAndDefaultTensorsAreErrors) {
  Graph g("f"), h("h");
  Tensor x = g.input("x", f32({2}));
  Tensor y = h.input("y", f32({2}));
  EXPECT_FALSE((x + y).valid());
  EXPECT_NE(g.takeError().message().find("another graph"), std::string::npos);
  Graph k("k");
  Expected<Model> m = k.finish(Tensor());
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("default-constructed"), std::string::npos);
  EXPECT_TRUE(h.ok());
}

// An error nobody looks at is reported by ~Graph: an abort in debug builds, a message
// on stderr in release builds.
#ifndef NDEBUG
TEST(FrontendGraphDeathTest, UncheckedErrorIsNotSilent) {
  EXPECT_DEATH(
      {
        Graph g("f");
        Tensor x = g.input("x", f32({2}));
        (void)reshape(x, {3});
      },
      "unchecked error while building graph 'f'");
}
#else
TEST(FrontendGraph, UncheckedErrorIsNotSilent) {
  testing::internal::CaptureStderr();
  {
    Graph g("f");
    Tensor x = g.input("x", f32({2}));
    (void)reshape(x, {3});
  }
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("unchecked error while building graph 'f'"), std::string::npos) << err;
}
#endif

}  // namespace
}  // namespace dlc
