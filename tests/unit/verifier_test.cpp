//===- tests/unit/verifier_test.cpp - the verifier's structural checks ----===//
#include <gtest/gtest.h>

#include "ir/builder.h"
#include "ir/verifier.h"

namespace dlc {
namespace {

std::vector<std::string> messages(const Expected<void> &r) {
  std::vector<std::string> out;
  if (!r) for (const Diagnostic &d : r.error().diagnostics()) out.push_back(d.message);
  return out;
}

TEST(Verifier, AcceptsWellFormedFunction) {
  Function f("f");
  Builder b(f);
  Value *x = f.addArg(f32({4}), "x");
  f.setResults({b.exp(b.add(x, x))});
  EXPECT_TRUE(verify(f).ok());
}

TEST(Verifier, ReportsWrongResultTypeAtTheNode) {
  Function f("f");
  Value *x = f.addArg(f32({4}), "x");
  Node *n = f.createNode(OpKind::Add, {x, x}, f32({5}), NoAttrs{});
  n->parsedLoc = Location::make("t.dlc", 3, 3);
  f.setResults({n->result()});
  Expected<void> r = verify(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().str(), "t.dlc:3:3: error: 'add' result type f32[5] does not match the inferred type f32[4]");
}

TEST(Verifier, ReportsUseBeforeDefinitionAndKeepsGoing) {
  Function f("f");
  Value *x = f.addArg(f32({4}), "x");
  Node *later = f.createNode(OpKind::Neg, {x}, f32({4}), NoAttrs{});
  later->result()->setName("later");
  Node *user = f.createNode(OpKind::Exp, {later->result()}, f32({4}), NoAttrs{}, {}, later);
  Node *bad = f.createNode(OpKind::Add, {x}, f32({4}), NoAttrs{});
  f.setResults({user->result(), bad->result()});
  auto m = messages(verify(f));
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0], "'exp' operand 0 ('%later') is not defined before this use");
  EXPECT_EQ(m[1], "'add' expects 2 operands, got 1");
}

TEST(Verifier, ReportsDuplicateNamesWithNote) {
  Function f("f");
  Value *x = f.addArg(f32({4}), "x");
  Node *n = f.createNode(OpKind::Neg, {x}, f32({4}), NoAttrs{});
  n->result()->setName("x");
  n->parsedLoc = Location::make("t.dlc", 2, 3);
  f.setResults({n->result()});
  Expected<void> r = verify(f);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.error().diagnostics().size(), 1u);
  const Diagnostic &d = r.error().diagnostics()[0];
  EXPECT_EQ(d.message, "redefinition of '%x'");
  ASSERT_EQ(d.notes.size(), 1u);
  EXPECT_EQ(d.notes[0].message, "previous definition here");
}

TEST(Verifier, ChecksAliases) {
  Function f("f");
  Builder b(f);
  Value *w = f.addArg(f32({4}), "w");
  Value *g = f.addArg(f32({3}), "g");
  Value *w2 = b.neg(w);
  Value *g2 = b.neg(g);
  f.setResults({w2, g2}, {0, 0});
  auto m = messages(verify(f));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], "result 1 (f32[3]) aliases '%w' of a different type (f32[4])");
  f.setResults({w2, w2}, {0, 0});
  m = messages(verify(f));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], "'%w' is aliased by more than one result");
  f.setResults({w2}, {7});
  EXPECT_EQ(messages(verify(f)), std::vector<std::string>{"result 0 aliases argument 7, which does not exist"});
}

TEST(Verifier, RejectsEmptyResultsAndForeignValues) {
  Function f("f"), other("g");
  Value *y = other.addArg(f32({2}), "y");
  f.addArg(f32({2}), "x");
  f.setResults({});
  EXPECT_EQ(messages(verify(f)), std::vector<std::string>{"@f returns nothing"});
  f.setResults({y});
  EXPECT_EQ(messages(verify(f)), std::vector<std::string>{"result 0 of @f is not defined in the function"});
}

TEST(Verifier, ModuleRejectsDuplicateFunctionNames) {
  Module m;
  for (int i = 0; i < 2; ++i) {
    Function *f = m.addFunction("same");
    f->setResults({f->addArg(f32({}), "x")});
  }
  auto msgs = messages(verify(m));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0], "redefinition of function @same");
}

TEST(Function, SortTopologicallyKeepsValidOrderAndFixesInvalid) {
  Function f("f");
  Builder b(f);
  Value *x = f.addArg(f32({4}), "x");
  Value *a = b.neg(x);
  Value *c = b.exp(a);
  f.setResults({c});
  // Move the exp before its operand.
  Node *e = c->def();
  Node *moved = f.createNode(OpKind::Exp, {a}, f32({4}), NoAttrs{}, {}, a->def());
  f.replaceAllUsesWith(c, moved->result());
  f.eraseNode(e);
  EXPECT_FALSE(verify(f).ok());
  EXPECT_TRUE(f.sortTopologically());
  EXPECT_TRUE(verify(f).ok());
  EXPECT_EQ(f.nodes()[0]->kind(), OpKind::Neg);
}

TEST(Function, PermuteArgsKeepsAliases) {
  Function f("f");
  Value *a = f.addArg(f32({1}), "a");
  Value *b = f.addArg(f32({2}), "b");
  f.setResults({b, a}, {1, -1});
  f.permuteArgs({1, 0});
  EXPECT_EQ(f.arg(0), b);
  EXPECT_EQ(b->argIndex(), 0);
  EXPECT_EQ(f.resultAliases()[0], 0);
  EXPECT_TRUE(verify(f).ok());
}

TEST(Function, CloneIsDeepAndEqual) {
  Function f("f");
  Builder b(f);
  Value *x = f.addArg(f32({4}), "x");
  f.setResults({b.mul(x, b.constant(2.0, f32({4})))});
  auto g = cloneFunction(f, "g");
  EXPECT_EQ(g->name(), "g");
  EXPECT_EQ(g->numNodes(), f.numNodes());
  EXPECT_NE(g->arg(0), f.arg(0));
  EXPECT_TRUE(verify(*g).ok());
}

}  // namespace
}  // namespace dlc
