//===- tests/unit/codegen_cases_data.cpp - cases: data movement, reductions -===//
#include <algorithm>

#include "codegen_cases.h"

namespace dlc::test {
namespace {

/// A random strictly increasing subset of [0, n).
std::vector<int64_t> subset(Rng &r, int64_t n, double p = 0.5) {
  std::vector<int64_t> s;
  for (int64_t i = 0; i < n; ++i)
    if (r.coin(p)) s.push_back(i);
  return s;
}

}  // namespace

std::vector<JitCase> broadcastCases(Rng &r) {
  std::vector<JitCase> cases;
  for (int i = 0; i < 6; ++i) {
    const DType d = r.pick(std::vector<DType>{DType::F32, DType::I1, DType::I64, DType::F64});
    Shape out = r.shape(r.uniformInt(0, 4));
    std::vector<int64_t> dims = subset(r, static_cast<int64_t>(out.size()));
    Shape in;
    for (int64_t dd : dims) in.push_back(r.coin(0.3) ? 1 : out[static_cast<size_t>(dd)]);
    cases.push_back(opCase(r, OpKind::Broadcast, {TensorType{d, in}}, BroadcastAttrs{dims}, TensorType{d, out}));
  }
  // Only size-1 dims inserted (the flat path).
  cases.push_back(opCase(r, OpKind::Broadcast, {f32({5, 17})}, BroadcastAttrs{{1, 2}}, f32({1, 5, 17})));
  return cases;
}

std::vector<JitCase> reshapeCases(Rng &r) {
  std::vector<JitCase> cases;
  for (bool alias : {true, false})
    for (int i = 0; i < 3; ++i) {
      const DType d = r.pick(std::vector<DType>{DType::F32, DType::I32, DType::I1});
      Shape in = r.shape(r.uniformInt(0, 3));
      const int64_t n = numElements(in).value_or(0);
      Shape out = r.coin() ? Shape{n} : Shape{1, n, 1};
      JitCase c = opCase(r, OpKind::Reshape, {TensorType{d, in}}, NoAttrs{}, TensorType{d, out});
      c.aliasReshapes = alias;
      c.label += alias ? " (alias)" : " (copy)";
      cases.push_back(std::move(c));
    }
  return cases;
}

std::vector<JitCase> transposeCases(Rng &r) {
  std::vector<JitCase> cases;
  for (int64_t rank = 1; rank <= 4; ++rank) {
    std::vector<int64_t> perm(static_cast<size_t>(rank));
    for (int64_t i = 0; i < rank; ++i) perm[static_cast<size_t>(i)] = i;
    std::reverse(perm.begin(), perm.end());
    if (rank > 2 && r.coin()) std::swap(perm[0], perm[1]);
    const DType d = r.pick(std::vector<DType>{DType::F32, DType::I32, DType::F64});
    cases.push_back(opCase(r, OpKind::Transpose, {TensorType{d, r.shape(rank)}}, TransposeAttrs{perm}));
  }
  return cases;
}

std::vector<JitCase> sliceCases(Rng &r) {
  std::vector<JitCase> cases;
  for (int i = 0; i < 6; ++i) {
    Shape in = r.shape(r.uniformInt(1, 4));
    SliceAttrs a;
    for (int64_t e : in) {
      int64_t start = r.uniformInt(0, e), limit = r.uniformInt(start, e);
      a.start.push_back(start);
      a.limit.push_back(limit);
      a.stride.push_back(r.uniformInt(1, 3));
    }
    cases.push_back(opCase(r, OpKind::Slice, {f32(in)}, a));
  }
  return cases;
}

std::vector<JitCase> concatCases(Rng &r) {
  std::vector<JitCase> cases;
  for (int i = 0; i < 6; ++i) {
    const DType d = r.pick(std::vector<DType>{DType::F32, DType::I64, DType::I1});
    Shape base = r.shape(r.uniformInt(1, 3));
    const int64_t axis = r.uniformInt(0, static_cast<int64_t>(base.size()) - 1);
    std::vector<TensorType> parts;
    for (int64_t p = r.uniformInt(1, 3); p > 0; --p) {
      Shape s = base;
      s[static_cast<size_t>(axis)] = r.uniformInt(0, 5);
      parts.push_back(TensorType{d, s});
    }
    cases.push_back(opCase(r, OpKind::Concat, parts, ConcatAttrs{axis}));
  }
  return cases;
}

std::vector<JitCase> padCases(Rng &r) {
  std::vector<JitCase> cases;
  for (int i = 0; i < 6; ++i) {
    const DType d = r.pick(std::vector<DType>{DType::F32, DType::I32, DType::F64});
    Shape in = r.shape(r.uniformInt(0, 3));
    if (i == 5 && !in.empty()) in[0] = 0;  // nothing but padding
    PadAttrs a;
    for (size_t k = 0; k < in.size(); ++k) {
      a.low.push_back(r.uniformInt(0, 3));
      a.high.push_back(r.uniformInt(0, 3));
    }
    a.value = r.pick(std::vector<double>{0.0, -1.5, -std::numeric_limits<double>::infinity()});
    cases.push_back(opCase(r, OpKind::Pad, {TensorType{d, in}}, a));
  }
  return cases;
}

std::vector<JitCase> reduceCases(OpKind k, Rng &r) {
  std::vector<JitCase> cases;
  for (DType d : {DType::F32, DType::F64, DType::I32, DType::I64})
    for (int i = 0; i < 3; ++i) {
      Shape in = r.shape(r.uniformInt(1, 4));
      std::vector<int64_t> axes = subset(r, static_cast<int64_t>(in.size()));
      if (i == 2) {  // all axes, and an empty reduced axis
        axes.clear();
        for (size_t a = 0; a < in.size(); ++a) axes.push_back(static_cast<int64_t>(a));
        if (d == DType::F32) in[0] = 0;
      }
      InputStyle style;
      style.special = 0.02;
      style.lo = -1e4;
      style.hi = 1e4;  // large, so the summation order shows in the rounding
      cases.push_back(opCase(r, k, {TensorType{d, in}}, ReduceAttrs{axes}, {}, style));
    }
  // A long row: the order of a 2000-term sum is visible in its last bits.
  cases.push_back(opCase(r, k, {f32({3, 2000})}, ReduceAttrs{{1}}));
  // Contiguous reductions (the canonical 16-lane order, vectorized): lengths around the
  // lane count, several reduced axes, kept size-1 dims after the reduced one, and ties
  // (+-0, equal values) and NaNs, where max's choice of operand shows.
  for (int64_t len : {1, 7, 15, 16, 17, 33, 250}) {
    InputStyle style;
    style.special = 0.05;
    style.lo = -1e4;
    style.hi = 1e4;
    cases.push_back(opCase(r, k, {f32({5, len})}, ReduceAttrs{{1}}, {}, style));
  }
  InputStyle ties;
  ties.ties = true;
  ties.special = 0.1;
  cases.push_back(opCase(r, k, {f32({4, 40})}, ReduceAttrs{{1}}, {}, ties));
  cases.push_back(opCase(r, k, {f64({3, 37})}, ReduceAttrs{{1}}, {}, ties));
  cases.push_back(opCase(r, k, {f32({2, 3, 7, 5})}, ReduceAttrs{{2, 3}}));
  cases.push_back(opCase(r, k, {f32({6, 19, 1})}, ReduceAttrs{{1}}));
  cases.push_back(opCase(r, k, {i32({3, 50})}, ReduceAttrs{{1}}));
  cases.push_back(opCase(r, k, {f32({1000})}, ReduceAttrs{{0}}));
  return cases;
}

std::vector<JitCase> oneHotCases(Rng &r) {
  std::vector<JitCase> cases;
  for (DType labels : {DType::I32, DType::I64})
    for (DType out : {DType::F32, DType::I32}) {
      Shape s = r.shape(r.uniformInt(0, 2));
      const int64_t depth = r.uniformInt(1, 12);
      Shape os = s;
      os.push_back(depth);
      InputStyle style;
      style.intLo = -2;
      style.intHi = depth + 1;  // some labels out of range: all-zero rows
      style.special = 0;
      cases.push_back(opCase(r, OpKind::OneHot, {TensorType{labels, s}}, NoAttrs{}, TensorType{out, os}, style));
    }
  return cases;
}

}  // namespace dlc::test
