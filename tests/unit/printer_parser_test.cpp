//===- tests/unit/printer_parser_test.cpp - the text format round trip -----===//
//
// Builds IR with Function::createNode directly (no builder, no verifier), prints it,
// parses it back and prints again; checks numbering, aliases, locations, number
// spellings, quoting, error locations, and that malformed text never crashes.
//
//===----------------------------------------------------------------------===//
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <type_traits>

#include <gtest/gtest.h>

#include "ir/parser.h"
#include "ir/printer.h"

namespace dlc {
namespace {

/// Sets every attribute field to a value other than its default, so that a printer or
/// parser that drops a field fails the round trip. Constants get one value per element.
void setNonDefaultFields(Attrs &attrs, int64_t numElements) {
  std::visit(
      [&](auto &a) {
        a.fields([&](std::string_view, auto &field) {
          using T = std::decay_t<decltype(field)>;
          if constexpr (std::is_same_v<T, std::vector<int64_t>>) field = {3, 1};
          else if constexpr (std::is_same_v<T, int64_t>) field = 1;
          else if constexpr (std::is_same_v<T, bool>) field = true;
          else if constexpr (std::is_same_v<T, double>) field = -0.25;
          else if constexpr (std::is_same_v<T, CmpDir>) field = CmpDir::Ge;
          else if constexpr (std::is_same_v<T, std::vector<double>>) {
            field.clear();
            for (int64_t i = 0; i < numElements; ++i) field.push_back(0.5 * static_cast<double>(i) - 1);
          } else static_assert(!sizeof(T), "new attribute field type: give it a sample value");
        });
      },
      attrs);
}

/// One node of every op in ops.def, each reading the arguments.
std::unique_ptr<Module> moduleWithEveryOp() {
  auto m = std::make_unique<Module>();
  Function *f = m->addFunction("every_op");
  Value *x = f->addArg(f32({2, 3}), "x");
  Value *y = f->addArg(f32({2, 3}));
  Value *last = x;
  for (int i = 0; i < kNumOps; ++i) {
    const OpKind k = opKindAt(i);
    const int arity = opInfo(k).arity < 0 ? 3 : opInfo(k).arity;
    std::vector<Value *> operands;
    for (int j = 0; j < arity; ++j) operands.push_back(j % 2 ? y : last);
    Attrs attrs = defaultAttrs(k);
    setNonDefaultFields(attrs, 6);
    Node *n = f->createNode(k, operands, f32({2, 3}), attrs);
    if (i % 3 == 0) n->loc = Location::make("model.cpp", static_cast<uint32_t>(10 + i), 5);
    if (i % 4 == 1) n->result()->setName("v" + std::string(mnemonic(k)));
    last = n->result();
  }
  f->setResults({last, x}, {-1, 0});
  return m;
}

Module parseOk(std::string_view text) {
  Expected<Module> m = parseModule(text, "t.dlc");
  EXPECT_TRUE(m.ok()) << (m ? "" : m.error().str()) << "\nin:\n" << text;
  return m ? std::move(*m) : Module{};
}

std::string parseError(std::string_view text) {
  Expected<Module> m = parseModule(text, "t.dlc");
  EXPECT_FALSE(m.ok()) << "parsed:\n" << text;
  return m ? "" : m.error().str();
}

TEST(PrinterParser, EveryOpRoundTrips) {
  std::unique_ptr<Module> m = moduleWithEveryOp();
  const std::string text = printModule(*m);
  Module parsed = parseOk(text);
  EXPECT_EQ(printModule(parsed), text);

  // Structure, not only text: kinds, attributes, types, operands and locations survive.
  const Function &a = *m->functions()[0];
  ASSERT_EQ(parsed.functions().size(), 1u);
  const Function &b = *parsed.functions()[0];
  ASSERT_EQ(a.numNodes(), b.numNodes());
  for (size_t i = 0; i < a.numNodes(); ++i) {
    const Node &na = *a.nodes()[i], &nb = *b.nodes()[i];
    EXPECT_EQ(na.kind(), nb.kind());
    EXPECT_EQ(na.attrs(), nb.attrs()) << na.mnemonic();
    EXPECT_EQ(na.type(), nb.type());
    EXPECT_EQ(na.loc, nb.loc);
    EXPECT_EQ(na.result()->name(), nb.result()->name());
    ASSERT_EQ(na.numOperands(), nb.numOperands());
    for (size_t j = 0; j < na.numOperands(); ++j) {
      const Value *oa = na.operand(j), *ob = nb.operand(j);
      EXPECT_EQ(oa->isArgument(), ob->isArgument());
      if (oa->isArgument()) EXPECT_EQ(oa->argIndex(), ob->argIndex());
      else EXPECT_EQ(a.indexOf(oa->def()), b.indexOf(ob->def()));
    }
  }
  EXPECT_EQ(b.resultAliases(), (std::vector<int>{-1, 0}));
}

TEST(PrinterParser, CanonicalSpelling) {
  Module m;
  Function *f = m.addFunction("mlp");
  Value *x = f->addArg(f32({2, 4}), "x");
  Value *w = f->addArg(f32({4, 3}));
  Node *mm = f->createNode(OpKind::MatMul, {x, w}, f32({2, 3}), MatMulAttrs{});
  Node *c = f->createNode(OpKind::Constant, {}, f32({2, 3}), ConstantAttrs{{0}});
  c->result()->setName("zero");
  Node *r = f->createNode(OpKind::Max, {mm->result(), c->result()}, f32({2, 3}), NoAttrs{},
                          Location::make("mlp.cpp", 12, 7));
  f->setResults({r->result()});
  const std::string expected =
      "func @mlp(%x: f32[2,4], %0: f32[4,3]) -> f32[2,3] {\n"
      "  %1 = matmul %x, %0 transpose_a=false transpose_b=false : f32[2,3]\n"
      "  %zero = constant 0 : f32[2,3]\n"
      "  %2 = max %1, %zero : f32[2,3] loc(\"mlp.cpp\":12:7)\n"
      "  return %2\n"
      "}\n";
  EXPECT_EQ(printModule(m), expected);
  EXPECT_EQ(printModule(parseOk(expected)), expected);
}

TEST(PrinterParser, ResultsAndAliases) {
  const std::string text =
      "func @step(%w: f32[4], %g: f32[4]) -> (f32[4] aliases %w, f32[]) loc(\"x.cpp\":3:1) {\n"
      "  %0 = sub %w, %g : f32[4]\n"
      "  %1 = reduce_sum %g axes=[0] : f32[]\n"
      "  return %0, %1\n"
      "}\n"
      "\n"
      "func @none() -> () {\n"
      "  return\n"
      "}\n";
  Module m = parseOk(text);
  EXPECT_EQ(printModule(m), text);
  const Function &f = *m.functions()[0];
  EXPECT_EQ(f.resultAliases(), (std::vector<int>{0, -1}));
  EXPECT_EQ(f.loc, Location::make("x.cpp", 3, 1));
  EXPECT_EQ(f.parsedLoc, Location::make("t.dlc", 1, 1));
  EXPECT_EQ(f.nodes()[1]->parsedLoc, Location::make("t.dlc", 3, 3));
  EXPECT_FALSE(f.nodes()[1]->loc.isKnown());
  // A single result written in parentheses is printed without them.
  EXPECT_EQ(printModule(parseOk("func @f(%a: f32[]) -> (f32[]) { return %a }")),
            "func @f(%a: f32[]) -> f32[] {\n  return %a\n}\n");
}

TEST(PrinterParser, NumbersRoundTripBitwise) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> values = {0.1, -0.0, inf, -inf, 5e-324, 1e300, -1.5e-7, 123456789, 1e16, 0};
  Module m;
  Function *f = m.addFunction("k");
  Node *dense = f->createNode(OpKind::Constant, {}, f64({10}), ConstantAttrs{values});
  Node *nan = f->createNode(OpKind::Constant, {}, f64({10}), ConstantAttrs{{std::nan("")}});
  Node *pad = f->createNode(OpKind::Pad, {nan->result()}, f64({12}), PadAttrs{{1}, {1}, -inf});
  f->setResults({dense->result(), pad->result()});
  const std::string text = printModule(m);
  EXPECT_NE(text.find("constant [0.1, -0, inf, -inf, 5e-324, 1e+300, -1.5e-07, 123456789, 1e+16, 0]"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("constant nan : f64[10]"), std::string::npos) << text;
  EXPECT_NE(text.find("low=[1] high=[1] value=-inf"), std::string::npos) << text;
  Module back = parseOk(text);
  EXPECT_EQ(printModule(back), text);
  const auto &got = back.functions()[0]->nodes()[0]->attrsAs<ConstantAttrs>().values;
  ASSERT_EQ(got.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(std::memcmp(&got[i], &values[i], sizeof(double)), 0) << i;
  EXPECT_TRUE(std::isnan(back.functions()[0]->nodes()[1]->attrsAs<ConstantAttrs>().values[0]));
}

TEST(PrinterParser, OddNamesAreQuoted) {
  Module m;
  Function *f = m.addFunction("my func");
  Value *a = f->addArg(f32({}), "a b");
  Node *n = f->createNode(OpKind::Neg, {a}, f32({}), NoAttrs{}, Location::make("dir/\"q\".cpp", 1, 2));
  n->result()->setName("7");  // looks like a number: must not collide with %0
  Node *k = f->createNode(OpKind::Exp, {n->result()}, f32({}), NoAttrs{});
  f->setResults({k->result()});
  const std::string text = printModule(m);
  EXPECT_EQ(text,
            "func @\"my func\"(%\"a b\": f32[]) -> f32[] {\n"
            "  %\"7\" = neg %\"a b\" : f32[] loc(\"dir/\\\"q\\\".cpp\":1:2)\n"
            "  %0 = exp %\"7\" : f32[]\n"
            "  return %0\n"
            "}\n");
  Module back = parseOk(text);
  EXPECT_EQ(printModule(back), text);
  EXPECT_EQ(back.functions()[0]->nodes()[0]->loc.fileName(), "dir/\"q\".cpp");
}

TEST(PrinterParser, AttributesMayBeOmittedButNotMisspelled) {
  Module m = parseOk("func @f(%a: f32[1,1,4,4]) -> f32[1,1,2,2] {\n"
                     "  %0 = max_pool2d %a stride=[2,2] : f32[1,1,2,2]\n  return %0\n}\n");
  EXPECT_EQ(m.functions()[0]->nodes()[0]->attrsAs<PoolAttrs>(), PoolAttrs{});
  EXPECT_NE(parseError("func @f(%a: f32[4]) -> f32[4] {\n  %0 = neg %a axis=1 : f32[4]\n  return %0\n}\n")
                .find("t.dlc:2:15: error: unknown attribute 'axis' for 'neg'; 'neg' has no attributes"),
            std::string::npos);
  EXPECT_NE(parseError("func @f(%a: f32[4]) -> f32[] {\n  %0 = reduce_sum %a axes=[0] axes=[0] : f32[]\n"
                       "  return %0\n}\n")
                .find("t.dlc:2:31: error: duplicate attribute 'axes'"),
            std::string::npos);
}

TEST(PrinterParser, EmptyInputIsAnEmptyModule) {
  EXPECT_TRUE(parseOk("").functions().empty());
  EXPECT_TRUE(parseOk("// only a comment\n\n  // another\n").functions().empty());
  EXPECT_EQ(printModule(Module{}), "");
}

struct ErrorCase {
  const char *text;
  const char *diag;  ///< a substring of the formatted diagnostic, location included
};

TEST(PrinterParser, ErrorsAreLocated) {
  const ErrorCase cases[] = {
      {"func @f(%a: f32[4]) -> f32[4] {\n  %0 = frob %a : f32[4]\n  return %0\n}", "t.dlc:2:8: error: unknown op 'frob'"},
      {"func @f(%a: f32[4]) -> f32[4] {\n  %0 = add %a, %a, %a : f32[4]\n  return %0\n}",
       "t.dlc:2:8: error: 'add' expects 2 operands, got 3"},
      {"func @f(%a: f32[4]) -> f32[4] {\n  %0 = concat axis=0 : f32[4]\n  return %0\n}",
       "t.dlc:2:8: error: 'concat' expects at least 1 operand, got 0"},
      {"func @f(%a: f32[4]) -> f32[4] {\n  %0 = neg %b : f32[4]\n  return %0\n}",
       "t.dlc:2:12: error: use of undefined value '%b'"},
      {"func @f(%a: f32[4]) -> f32[4] {\n  %a = neg %a : f32[4]\n  return %a\n}",
       "t.dlc:2:3: error: redefinition of '%a'\nt.dlc:1:9: note: previous definition is here"},
      {"func @f(%a: f32[4]) -> f32[4] {\n  %0 = neg %a f32[4]\n  return %0\n}",
       "t.dlc:2:15: error: expected ':' before the result type, found 'f32'"},
      {"func @f(%a: f32[-4]) -> f32[4] {", "t.dlc:1:17: error: dimension -4 is negative"},
      {"func @f(%a: f32[99999999999999999999]) -> f32[4] {", "t.dlc:1:17: error: integer '99999999999999999999' does not fit in 64 bits"},
      {"func @f(%a: f32[1048576,1048576,2]) -> f32[4] {", "t.dlc:1:13: error: type is too large"},
      {"func @f(%a: f16[4]) -> f32[4] {", "t.dlc:1:13: error: unknown element type 'f16'"},
      {"func @f(%a: f32[4]) -> f32[4] {\n  %0 = constant 1e999 : f32[4]\n", "t.dlc:2:17: error: number '1e999' is out of the range of f64"},
      {"func @f(%a: f32[4]) -> f32[4] {\n  %0 = neg %a : f32[4]\n", "t.dlc:3:1: error: expected a node or 'return', found end of file"},
      {"func @f(%a: f32[4]) -> f32[8] {\n  return %a\n}", "t.dlc:2:10: error: returned value 0 has type f32[4] but '@f' declares f32[8]"},
      {"func @f(%a: f32[4]) -> (f32[4] aliases %b) {", "t.dlc:1:40: error: 'aliases' names '%b', which is not an argument of '@f'"},
      {"func @f() -> () {\n  return\n}\nfunc @f() -> () {\n  return\n}",
       "t.dlc:4:6: error: redefinition of function '@f'\nt.dlc:1:1: note: previous definition is here"},
      {"func @f(%a: f32[4]) -> f32[4] {\n  %0 = compare %a, %a dir=lt2 : i1[4]\n",
       "t.dlc:2:27: error: expected a comparison direction (eq, ne, lt, le, gt, ge), found 'lt2'"},
      {"func @f(%a: f32[4]) -> f32[4] {\n  %0 = neg %a : f32[4] loc(\"x\":1:99999999999)\n",
       "t.dlc:2:34: error: location column must be between 0 and 4294967295"},
      {"func @f(%1x: f32[4])", "t.dlc:1:9: error: invalid value name '%1x'"},
      {"func @f(%a: f32[4]) -> f32[4] {\n  %0 = neg %a : f32[4] \x01", "t.dlc:2:24: error: unexpected character '\\x01'"},
      {"\"unterminated", "t.dlc:1:1: error: unterminated string"},
      {"func", "t.dlc:1:5: error: expected a function name such as '@main', found end of file"},
      {"[[[[[[[[[[", "t.dlc:1:1: error: expected 'func', found '['"},
  };
  for (const ErrorCase &c : cases) {
    std::string got = parseError(c.text);
    EXPECT_NE(got.find(c.diag), std::string::npos) << "expected: " << c.diag << "\ngot:      " << got;
  }
}

/// Every prefix of valid text, and random byte edits of it, parse or fail cleanly.
TEST(PrinterParser, MalformedInputNeverCrashes) {
  const std::string text = printModule(*moduleWithEveryOp());
  for (size_t n = 0; n < text.size(); ++n) {
    Expected<Module> m = parseModule(std::string_view(text).substr(0, n), "t.dlc");
    if (!m) {
      EXPECT_NE(m.error().str().find("t.dlc:"), std::string::npos);
    }
  }
  std::mt19937 rng(42);
  const char junk[] = {'\0', '%', '@', '[', ']', '"', '\\', '-', '9', 'e', '.', ',', ':', '\n', '\xff', '/'};
  for (int trial = 0; trial < 500; ++trial) {
    std::string s = text;
    for (int edits = 1 + static_cast<int>(rng() % 4); edits > 0; --edits)
      s[rng() % s.size()] = junk[rng() % sizeof junk];
    Expected<Module> m = parseModule(s, "t.dlc");
    if (m) {
      EXPECT_EQ(printModule(parseOk(printModule(*m))), printModule(*m));
    }
  }
}

}  // namespace
}  // namespace dlc
