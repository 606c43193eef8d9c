//===- passes/simplify_arith.cpp - simplify's arithmetic rewrite rules -----===//
//
// Exactness notes use IEEE 754 facts: x*1, x/1, x*(-1) = -x and x-(+0) are exact for
// every x; x - y is defined as x + (-y); a sign flip is exact. "Integers" means i32/i64
// with the interpreter's wrapping arithmetic.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <bit>
#include <cmath>

#include "passes/constant_fold.h"
#include "passes/pass_util.h"
#include "passes/simplify_rules.h"

namespace dlc::rules {
namespace {

/// For a binary node: the other operand when operand 1 (or, for a commutative op,
/// either operand) satisfies \p pred; null otherwise.
template <class Pred> Value *operandBeside(const Node &n, Pred pred) {
  if (pred(n.operand(1))) return n.operand(0);
  if (hasTrait(n.kind(), kCommutative) && pred(n.operand(0))) return n.operand(1);
  return nullptr;
}

bool isIntegerValue(const Value *v) { return isInteger(v->dtype()); }

/// True when \p v is a splat zero of either sign.
bool isAnyZero(const Value *v) {
  std::optional<double> s = splatValue(v);
  return s && *s == 0.0;
}

}  // namespace

Value *constantFold(RewriteContext &c, Node &n) {
  std::optional<ConstantAttrs> k = tryFoldNode(n);
  if (!k) return nullptr;
  if (k->isSplat()) return c.b.constant(k->values[0], n.type());
  return c.b.constant(std::move(k->values), n.type());
}

Value *mulByOne(RewriteContext &, Node &n) {
  return operandBeside(n, [](const Value *v) { return isSplatOf(v, 1.0); });
}

Value *mulByNegOne(RewriteContext &c, Node &n) {
  Value *x = operandBeside(n, [](const Value *v) { return isSplatOf(v, -1.0); });
  return x ? c.b.neg(x) : nullptr;  // x * -1 = -x exactly (integers: wraps alike)
}

Value *mulByZero(RewriteContext &c, Node &n) {
  // Integers: x*0 = 0. Floats: NaN*0 = NaN, inf*0 = NaN, (-x)*0 = -0, so fast-math only.
  if (!isIntegerValue(n.result()) && !c.fastMath()) return nullptr;
  if (!operandBeside(n, isAnyZero)) return nullptr;
  return c.b.constant(0.0, n.type());
}

Value *negMulNeg(RewriteContext &c, Node &n) {
  Node *a = defOf(n.operand(0), OpKind::Neg), *b = defOf(n.operand(1), OpKind::Neg);
  if (!a || !b) return nullptr;
  return c.b.mul(a->operand(0), b->operand(0));  // the two sign flips cancel exactly
}

Value *addZero(RewriteContext &c, Node &n) {
  // x + (-0) = x for every x, and integer x + 0 = x; x + (+0) maps -0 to +0.
  const bool integer = isIntegerValue(n.result());
  const bool fast = c.fastMath();
  return operandBeside(n, [&](const Value *v) {
    if (integer || fast) return isAnyZero(v);
    return isSplatOf(v, -0.0);
  });
}

Value *subZero(RewriteContext &c, Node &n) {
  // x - (+0) = x + (-0) = x; x - (-0) = x + (+0) only with fast-math.
  const bool integer = isIntegerValue(n.result());
  const bool fast = c.fastMath();
  return operandBeside(n, [&](const Value *v) {
    if (integer || fast) return isAnyZero(v);
    return isSplatOf(v, 0.0);
  });
}

Value *subSelf(RewriteContext &c, Node &n) {
  // Integers: x - x = 0. Floats: inf - inf = NaN, so fast-math only.
  if (n.operand(0) != n.operand(1)) return nullptr;
  if (!isIntegerValue(n.result()) && !c.fastMath()) return nullptr;
  return c.b.constant(0.0, n.type());
}

Value *subOfNeg(RewriteContext &c, Node &n) {
  Node *neg = defOf(n.operand(1), OpKind::Neg);
  return neg ? c.b.add(n.operand(0), neg->operand(0)) : nullptr;  // x - (-y) = x + y
}

Value *addOfNeg(RewriteContext &c, Node &n) {
  if (Node *neg = defOf(n.operand(1), OpKind::Neg)) return c.b.sub(n.operand(0), neg->operand(0));
  if (Node *neg = defOf(n.operand(0), OpKind::Neg)) return c.b.sub(n.operand(1), neg->operand(0));
  return nullptr;  // x + (-y) = x - y by definition of subtraction
}

Value *divByOne(RewriteContext &, Node &n) { return isSplatOf(n.operand(1), 1.0) ? n.operand(0) : nullptr; }

Value *divByPowerOfTwo(RewriteContext &c, Node &n) {
  // x / 2^k and x * 2^-k are the correctly rounded values of the same real number when
  // 2^-k is exactly representable, so they agree bitwise (NaN, inf and zeros included).
  if (!isFloat(n.type().dtype)) return nullptr;
  std::optional<double> d = splatValue(n.operand(1));
  if (!d || *d == 0.0 || !std::isfinite(*d) || std::abs(*d) == 1.0) return nullptr;
  int exp = 0;
  if (std::abs(std::frexp(*d, &exp)) != 0.5) return nullptr;  // not a power of two
  const double r = 1.0 / *d;
  const bool representable = n.type().dtype == DType::F64
                                 ? std::isnormal(r)
                                 : std::isnormal(static_cast<float>(r)) && static_cast<double>(static_cast<float>(r)) == r;
  if (!representable) return nullptr;
  return c.b.mul(n.operand(0), c.b.constant(r, n.type()));
}

Value *negOfNeg(RewriteContext &, Node &n) {
  Node *inner = defOf(n.operand(0), OpKind::Neg);
  return inner ? inner->operand(0) : nullptr;
}

Value *negIntoConstant(RewriteContext &c, Node &n) {
  // -(x * k) = x * (-k), -(x / k) = x / (-k), -(k / x) = (-k) / x: round-to-nearest is
  // symmetric in sign, so moving the sign into the constant is exact. Only when the
  // product has no other use (otherwise it would be computed twice).
  Node *inner = n.operand(0)->def();
  if (!inner || (inner->kind() != OpKind::Mul && inner->kind() != OpKind::Div)) return nullptr;
  if (!isFloat(n.type().dtype) || c.f.users(inner->result()).size() != 1) return nullptr;
  const auto &results = c.f.results();
  if (std::find(results.begin(), results.end(), inner->result()) != results.end()) return nullptr;
  for (size_t i = 0; i < 2; ++i) {
    std::optional<double> k = splatValue(inner->operand(i));
    if (!k) continue;
    std::vector<Value *> ops(inner->operands().begin(), inner->operands().end());
    ops[i] = c.b.constant(-*k, inner->operand(i)->type());
    return c.b.create(inner->kind(), std::move(ops));
  }
  return nullptr;
}

Value *absOfNeg(RewriteContext &c, Node &n) {
  Node *inner = defOf(n.operand(0), OpKind::Neg);
  return inner ? c.b.abs(inner->operand(0)) : nullptr;  // |-x| = |x| (integers: |min| = min)
}

Value *absOfAbs(RewriteContext &, Node &n) {
  Node *inner = defOf(n.operand(0), OpKind::Abs);
  return inner ? inner->result() : nullptr;
}

Value *maxMinSelf(RewriteContext &, Node &n) {
  // max/min return their first operand on ties and propagate NaN: max(x, x) = x.
  return n.operand(0) == n.operand(1) ? n.operand(0) : nullptr;
}

Value *powOne(RewriteContext &, Node &n) {
  // pow is accurate to < 1 ulp and x^1 = x is representable, so pow(x, 1) = x exactly.
  return isSplatOf(n.operand(1), 1.0) ? n.operand(0) : nullptr;
}

Value *selectConstantPredicate(RewriteContext &, Node &n) {
  std::optional<double> p = splatValue(n.operand(0));
  if (!p) return nullptr;
  return *p != 0.0 ? n.operand(1) : n.operand(2);
}

Value *selectSameArms(RewriteContext &, Node &n) {
  return n.operand(1) == n.operand(2) ? n.operand(1) : nullptr;
}

Value *selectToCast(RewriteContext &c, Node &n) {
  // A boolean converts to exactly 1 or +0.
  if (!isSplatOf(n.operand(1), 1.0) || !isSplatOf(n.operand(2), 0.0)) return nullptr;
  return c.b.cast(n.operand(0), n.type().dtype);
}

Value *castToSameType(RewriteContext &, Node &n) {
  return n.operand(0)->type() == n.type() ? n.operand(0) : nullptr;
}

}  // namespace dlc::rules
