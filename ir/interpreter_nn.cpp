//===- ir/interpreter_nn.cpp - matmul, convolution and pooling kernels ------===//
//
// Naive loop nests, written to be read against the formulas in attrs.h. Activations are
// NCHW, filters OIHW. Each kernel first checks the ranks and extents it indexes with
// (the result type is trusted for shape only after that check), then accumulates in the
// element type in the fixed order documented in interpreter.h.
//
//===----------------------------------------------------------------------===//
#include <algorithm>

#include "ir/interpreter_kernels.h"
#include "ir/shape_inference.h"

namespace dlc::interp {
namespace {

Expected<void> expectDType(const OpCtx &c, size_t i) {
  if (c.operand(i).dtype() != c.type.dtype)
    return c.error("operand {} element type {} differs from the result's {}", i, c.operand(i).dtype(),
                   c.type.dtype);
  return {};
}

Expected<void> expectRank(const OpCtx &c, std::string_view what, const TensorType &t, int64_t rank) {
  if (t.rank() != rank) return c.error("{} must have rank {}, got {}", what, rank, t);
  return {};
}

/// Checks a two-entry attribute list: `what` has two entries, each at least \p min.
Expected<void> expectPair(const OpCtx &c, std::string_view what, const std::vector<int64_t> &v, int64_t min) {
  if (v.size() != 2 || v[0] < min || v[1] < min)
    return c.error("{} [{}] must be two values >= {}", what, fmt::join(v, ","), min);
  return {};
}

/// Output extent of a window of \p k taps spaced \p d apart, stride \p s, padding \p p on
/// both sides over \p in elements; -1 when the window does not fit (shape inference's rule).
int64_t windowOut(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  return windowOutputSize(in, k, s, p, p, d);
}

int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }

/// Runs body.template operator()<T>() for element types in domain D, else an Error.
template <Domain D, class F> Result typed(const OpCtx &c, F &&body) {
  return dispatchDType(c.type.dtype, [&]<class T>() -> Result {
    if constexpr (!kInDomain<D, T>)
      return c.error("does not accept {} operands", c.type.dtype);
    else
      return body.template operator()<T>();
  });
}

/// The geometry shared by conv2d and its gradients, checked against the operands.
struct ConvGeom {
  int64_t n, c, h, w, o, kh, kw, oh, ow;
  int64_t sh, sw, ph, pw, dh, dw;
};

/// \p yWhat names \p y in messages: the result for conv2d, the output gradient otherwise.
Expected<ConvGeom> convGeom(const OpCtx &c, const Shape &x, const Shape &w, const Shape &y,
                            std::string_view yWhat) {
  const ConvAttrs &a = c.attrsAs<ConvAttrs>();
  DL_CHECK(expectPair(c, "stride", a.stride, 1));
  DL_CHECK(expectPair(c, "padding", a.padding, 0));
  DL_CHECK(expectPair(c, "dilation", a.dilation, 1));
  ConvGeom g{x[0], x[1],        x[2],        x[3],         w[0],         w[2],          w[3],         0,
             0,    a.stride[0], a.stride[1], a.padding[0], a.padding[1], a.dilation[0], a.dilation[1]};
  if (w[1] != g.c) return c.error("filter has {} input channels, the input has {}", w[1], g.c);
  g.oh = windowOut(g.h, g.kh, g.sh, g.ph, g.dh);
  g.ow = windowOut(g.w, g.kw, g.sw, g.pw, g.dw);
  if (g.oh < 0 || g.ow < 0)
    return c.error("a {}x{} filter (dilation [{},{}]) does not fit a {}x{} input padded by [{},{}]", g.kh,
                   g.kw, g.dh, g.dw, g.h, g.w, g.ph, g.pw);
  const Shape expected{g.n, g.o, g.oh, g.ow};
  if (y != expected) return c.error("{} shape {} should be {}", yWhat, shapeString(y), shapeString(expected));
  return g;
}

/// The geometry of pooling x[N,C,H,W] -> y[N,C,OH,OW].
struct PoolGeom {
  int64_t n, c, h, w, oh, ow;
  int64_t kh, kw, sh, sw, ph, pw;
};

Expected<PoolGeom> poolGeom(const OpCtx &c, const Shape &x, const Shape &y) {
  const PoolAttrs &a = c.attrsAs<PoolAttrs>();
  DL_CHECK(expectPair(c, "window", a.window, 1));
  DL_CHECK(expectPair(c, "stride", a.stride, 1));
  DL_CHECK(expectPair(c, "padding", a.padding, 0));
  PoolGeom g{x[0],        x[1],        x[2],        x[3],         0,           0, a.window[0],
             a.window[1], a.stride[0], a.stride[1], a.padding[0], a.padding[1]};
  g.oh = windowOut(g.h, g.kh, g.sh, g.ph, 1);
  g.ow = windowOut(g.w, g.kw, g.sw, g.pw, 1);
  if (g.oh < 0 || g.ow < 0)
    return c.error("a {}x{} window does not fit a {}x{} input padded by [{},{}]", g.kh, g.kw, g.h, g.w, g.ph,
                   g.pw);
  const Shape expected{g.n, g.c, g.oh, g.ow};
  if (y != expected) return c.error("pooled shape {} should be {}", shapeString(y), shapeString(expected));
  return g;
}

/// Index of the element of window (n, c, oh, ow) that max pooling selects: the first
/// maximum in row-major window order, the first NaN if there is one; -1 when the window
/// holds only padding.
template <class T>
int64_t windowArgMax(std::span<const T> x, const PoolGeom &g, int64_t n, int64_t c, int64_t oh, int64_t ow) {
  int64_t best = -1;
  for (int64_t i = 0; i < g.kh; ++i) {
    const int64_t ih = oh * g.sh - g.ph + i;
    if (ih < 0 || ih >= g.h) continue;
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t iw = ow * g.sw - g.pw + j;
      if (iw < 0 || iw >= g.w) continue;
      const int64_t at = ((n * g.c + c) * g.h + ih) * g.w + iw;
      if (best < 0) {
        best = at;
        continue;
      }
      const T v = x[static_cast<size_t>(at)], b = x[static_cast<size_t>(best)];
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(b)) continue;
        if (std::isnan(v)) {
          best = at;
          continue;
        }
      }
      if (v > b) best = at;
    }
  }
  return best;
}

}  // namespace

Result evalMatMul(const OpCtx &c) {
  const HostTensor &a = c.operand(0), &b = c.operand(1);
  const MatMulAttrs &attrs = c.attrsAs<MatMulAttrs>();
  DL_CHECK(expectDType(c, 0));
  DL_CHECK(expectDType(c, 1));
  const Shape &as = a.shape(), &bs = b.shape();
  if (as.size() < 2 || as.size() != bs.size())
    return c.error("operands {} and {} need equal ranks of at least 2", a.type(), b.type());
  const size_t r = as.size();
  const Shape batch(as.begin(), as.end() - 2);
  if (!std::equal(batch.begin(), batch.end(), bs.begin()))
    return c.error("batch dimensions of {} and {} differ", a.type(), b.type());
  const int64_t m = attrs.transposeA ? as[r - 1] : as[r - 2], k = attrs.transposeA ? as[r - 2] : as[r - 1];
  const int64_t kb = attrs.transposeB ? bs[r - 1] : bs[r - 2], n = attrs.transposeB ? bs[r - 2] : bs[r - 1];
  if (k != kb) return c.error("contracting dimensions differ: {} vs {}", k, kb);
  Shape expected = batch;
  expected.push_back(m);
  expected.push_back(n);
  DL_CHECK(expectResultShape(c, expected));
  const int64_t batches = numElements(batch).value_or(0);
  return typed<Domain::Numeric>(c, [&]<class T>() -> Result {
    HostTensor out(c.type);
    std::span<const T> av = a.data<T>(), bv = b.data<T>();
    std::span<T> y = out.data<T>();
    for (int64_t p = 0; p < batches; ++p) {
      const int64_t aBase = p * m * k, bBase = p * k * n;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          T acc = T(0);
          for (int64_t q = 0; q < k; ++q) {
            const T x = av[static_cast<size_t>(aBase + (attrs.transposeA ? q * m + i : i * k + q))];
            const T w = bv[static_cast<size_t>(bBase + (attrs.transposeB ? j * k + q : q * n + j))];
            acc = arithMulAdd(x, w, acc);
          }
          y[static_cast<size_t>((p * m + i) * n + j)] = acc;
        }
    }
    return out;
  });
}

Result evalConv2d(const OpCtx &c) {
  const HostTensor &x = c.operand(0), &w = c.operand(1);
  DL_CHECK(expectDType(c, 0));
  DL_CHECK(expectDType(c, 1));
  DL_CHECK(expectRank(c, "input", x.type(), 4));
  DL_CHECK(expectRank(c, "filter", w.type(), 4));
  DL_CHECK(expectRank(c, "result", c.type, 4));
  DL_TRY(const ConvGeom g, convGeom(c, x.shape(), w.shape(), c.type.shape, "result"));
  return typed<Domain::Numeric>(c, [&]<class T>() -> Result {
    HostTensor out(c.type);
    std::span<const T> xv = x.data<T>(), wv = w.data<T>();
    std::span<T> y = out.data<T>();
    // y[n,o,oh,ow] = sum_{c,kh,kw} x[n, c, oh*s - p + kh*d, ow*s - p + kw*d] * w[o,c,kh,kw]
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t o = 0; o < g.o; ++o)
        for (int64_t oh = 0; oh < g.oh; ++oh)
          for (int64_t ow = 0; ow < g.ow; ++ow) {
            T acc = T(0);
            for (int64_t ci = 0; ci < g.c; ++ci)
              for (int64_t i = 0; i < g.kh; ++i) {
                const int64_t ih = oh * g.sh - g.ph + i * g.dh;
                if (ih < 0 || ih >= g.h) continue;
                for (int64_t j = 0; j < g.kw; ++j) {
                  const int64_t iw = ow * g.sw - g.pw + j * g.dw;
                  if (iw < 0 || iw >= g.w) continue;
                  acc = arithMulAdd(xv[static_cast<size_t>(((n * g.c + ci) * g.h + ih) * g.w + iw)],
                                    wv[static_cast<size_t>(((o * g.c + ci) * g.kh + i) * g.kw + j)], acc);
                }
              }
            y[static_cast<size_t>(((n * g.o + o) * g.oh + oh) * g.ow + ow)] = acc;
          }
    return out;
  });
}

Result evalConv2dInputGrad(const OpCtx &c) {
  const HostTensor &dy = c.operand(0), &w = c.operand(1);
  DL_CHECK(expectDType(c, 0));
  DL_CHECK(expectDType(c, 1));
  DL_CHECK(expectRank(c, "output gradient", dy.type(), 4));
  DL_CHECK(expectRank(c, "filter", w.type(), 4));
  DL_CHECK(expectRank(c, "result", c.type, 4));
  if (dy.shape()[1] != w.shape()[0])
    return c.error("output gradient has {} channels, the filter {}", dy.shape()[1], w.shape()[0]);
  DL_TRY(const ConvGeom g, convGeom(c, c.type.shape, w.shape(), dy.shape(), "output gradient"));
  return typed<Domain::Numeric>(c, [&]<class T>() -> Result {
    HostTensor out(c.type);
    std::span<const T> dyv = dy.data<T>(), wv = w.data<T>();
    std::span<T> dx = out.data<T>();
    // dx[n,c,h,w] = sum_{o,kh,kw} dy[n,o,oh,ow] * w[o,c,kh,kw] over the (oh, ow) with
    // oh*s - p + kh*d == h and ow*s - p + kw*d == w: the adjoint of conv2d in x.
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t ci = 0; ci < g.c; ++ci)
        for (int64_t h = 0; h < g.h; ++h)
          for (int64_t x = 0; x < g.w; ++x) {
            T acc = T(0);
            for (int64_t o = 0; o < g.o; ++o)
              for (int64_t i = 0; i < g.kh; ++i) {
                const int64_t th = h + g.ph - i * g.dh;
                if (th < 0 || th % g.sh != 0 || th / g.sh >= g.oh) continue;
                for (int64_t j = 0; j < g.kw; ++j) {
                  const int64_t tw = x + g.pw - j * g.dw;
                  if (tw < 0 || tw % g.sw != 0 || tw / g.sw >= g.ow) continue;
                  const int64_t oh = th / g.sh, ow = tw / g.sw;
                  acc = arithMulAdd(dyv[static_cast<size_t>(((n * g.o + o) * g.oh + oh) * g.ow + ow)],
                                    wv[static_cast<size_t>(((o * g.c + ci) * g.kh + i) * g.kw + j)], acc);
                }
              }
            dx[static_cast<size_t>(((n * g.c + ci) * g.h + h) * g.w + x)] = acc;
          }
    return out;
  });
}

Result evalConv2dFilterGrad(const OpCtx &c) {
  const HostTensor &x = c.operand(0), &dy = c.operand(1);
  DL_CHECK(expectDType(c, 0));
  DL_CHECK(expectDType(c, 1));
  DL_CHECK(expectRank(c, "input", x.type(), 4));
  DL_CHECK(expectRank(c, "output gradient", dy.type(), 4));
  DL_CHECK(expectRank(c, "result", c.type, 4));
  if (dy.shape()[1] != c.type.shape[0])
    return c.error("output gradient has {} channels, the filter {}", dy.shape()[1], c.type.shape[0]);
  DL_TRY(const ConvGeom g, convGeom(c, x.shape(), c.type.shape, dy.shape(), "output gradient"));
  return typed<Domain::Numeric>(c, [&]<class T>() -> Result {
    HostTensor out(c.type);
    std::span<const T> xv = x.data<T>(), dyv = dy.data<T>();
    std::span<T> dw = out.data<T>();
    // dw[o,c,kh,kw] = sum_{n,oh,ow} x[n, c, oh*s - p + kh*d, ow*s - p + kw*d] * dy[n,o,oh,ow]
    for (int64_t o = 0; o < g.o; ++o)
      for (int64_t ci = 0; ci < g.c; ++ci)
        for (int64_t i = 0; i < g.kh; ++i)
          for (int64_t j = 0; j < g.kw; ++j) {
            T acc = T(0);
            for (int64_t n = 0; n < g.n; ++n)
              for (int64_t oh = 0; oh < g.oh; ++oh) {
                const int64_t ih = oh * g.sh - g.ph + i * g.dh;
                if (ih < 0 || ih >= g.h) continue;
                for (int64_t ow = 0; ow < g.ow; ++ow) {
                  const int64_t iw = ow * g.sw - g.pw + j * g.dw;
                  if (iw < 0 || iw >= g.w) continue;
                  acc = arithMulAdd(xv[static_cast<size_t>(((n * g.c + ci) * g.h + ih) * g.w + iw)],
                                    dyv[static_cast<size_t>(((n * g.o + o) * g.oh + oh) * g.ow + ow)], acc);
                }
              }
            dw[static_cast<size_t>(((o * g.c + ci) * g.kh + i) * g.kw + j)] = acc;
          }
    return out;
  });
}

Result evalMaxPool2d(const OpCtx &c) {
  const HostTensor &x = c.operand(0);
  DL_CHECK(expectDType(c, 0));
  DL_CHECK(expectRank(c, "input", x.type(), 4));
  DL_CHECK(expectRank(c, "result", c.type, 4));
  DL_TRY(const PoolGeom g, poolGeom(c, x.shape(), c.type.shape));
  return typed<Domain::Numeric>(c, [&]<class T>() -> Result {
    HostTensor out(c.type);
    std::span<const T> xv = x.data<T>();
    std::span<T> y = out.data<T>();
    int64_t at = 0;
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t ci = 0; ci < g.c; ++ci)
        for (int64_t oh = 0; oh < g.oh; ++oh)
          for (int64_t ow = 0; ow < g.ow; ++ow) {
            const int64_t arg = windowArgMax(xv, g, n, ci, oh, ow);
            y[static_cast<size_t>(at++)] = arg < 0 ? lowestOrNegInf<T>() : xv[static_cast<size_t>(arg)];
          }
    return out;
  });
}

Result evalMaxPool2dGrad(const OpCtx &c) {
  const HostTensor &x = c.operand(0), &dy = c.operand(1);
  DL_CHECK(expectDType(c, 0));
  DL_CHECK(expectDType(c, 1));
  DL_CHECK(expectRank(c, "input", x.type(), 4));
  DL_CHECK(expectRank(c, "output gradient", dy.type(), 4));
  DL_CHECK(expectResultShape(c, x.shape()));
  DL_TRY(const PoolGeom g, poolGeom(c, x.shape(), dy.shape()));
  return typed<Domain::Numeric>(c, [&]<class T>() -> Result {
    HostTensor out(c.type);  // zeros
    std::span<const T> xv = x.data<T>(), dyv = dy.data<T>();
    std::span<T> dx = out.data<T>();
    int64_t at = 0;  // windows in row-major order; overlapping windows add
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t ci = 0; ci < g.c; ++ci)
        for (int64_t oh = 0; oh < g.oh; ++oh)
          for (int64_t ow = 0; ow < g.ow; ++ow, ++at) {
            const int64_t arg = windowArgMax(xv, g, n, ci, oh, ow);
            if (arg >= 0)
              dx[static_cast<size_t>(arg)] =
                  arithAdd(dx[static_cast<size_t>(arg)], dyv[static_cast<size_t>(at)]);
          }
    return out;
  });
}

Result evalAvgPool2d(const OpCtx &c) {
  const HostTensor &x = c.operand(0);
  DL_CHECK(expectDType(c, 0));
  DL_CHECK(expectRank(c, "input", x.type(), 4));
  DL_CHECK(expectRank(c, "result", c.type, 4));
  DL_TRY(const PoolGeom g, poolGeom(c, x.shape(), c.type.shape));
  return typed<Domain::Float>(c, [&]<class T>() -> Result {
    HostTensor out(c.type);
    std::span<const T> xv = x.data<T>();
    std::span<T> y = out.data<T>();
    const T size = static_cast<T>(g.kh * g.kw);
    int64_t at = 0;
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t ci = 0; ci < g.c; ++ci)
        for (int64_t oh = 0; oh < g.oh; ++oh)
          for (int64_t ow = 0; ow < g.ow; ++ow) {
            T acc = T(0);
            for (int64_t i = 0; i < g.kh; ++i) {
              const int64_t ih = oh * g.sh - g.ph + i;
              if (ih < 0 || ih >= g.h) continue;
              for (int64_t j = 0; j < g.kw; ++j) {
                const int64_t iw = ow * g.sw - g.pw + j;
                if (iw >= 0 && iw < g.w)
                  acc += xv[static_cast<size_t>(((n * g.c + ci) * g.h + ih) * g.w + iw)];
              }
            }
            y[static_cast<size_t>(at++)] = acc / size;
          }
    return out;
  });
}

Result evalAvgPool2dGrad(const OpCtx &c) {
  const HostTensor &dy = c.operand(0);
  DL_CHECK(expectDType(c, 0));
  DL_CHECK(expectRank(c, "output gradient", dy.type(), 4));
  DL_CHECK(expectRank(c, "result", c.type, 4));
  DL_TRY(const PoolGeom g, poolGeom(c, c.type.shape, dy.shape()));
  return typed<Domain::Float>(c, [&]<class T>() -> Result {
    HostTensor out(c.type);
    std::span<const T> dyv = dy.data<T>();
    std::span<T> dx = out.data<T>();
    const T size = static_cast<T>(g.kh * g.kw);
    // dx[n,c,h,w] = (sum of dy over the windows covering (h, w)) / window size. Window oh
    // covers rows oh*s - p .. oh*s - p + k - 1.
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t ci = 0; ci < g.c; ++ci)
        for (int64_t h = 0; h < g.h; ++h)
          for (int64_t x = 0; x < g.w; ++x) {
            const int64_t ohLo = std::max<int64_t>(0, ceilDiv(h + g.ph - g.kh + 1, g.sh));
            const int64_t ohHi = std::min<int64_t>(g.oh - 1, floorDiv(h + g.ph, g.sh));
            const int64_t owLo = std::max<int64_t>(0, ceilDiv(x + g.pw - g.kw + 1, g.sw));
            const int64_t owHi = std::min<int64_t>(g.ow - 1, floorDiv(x + g.pw, g.sw));
            T acc = T(0);
            for (int64_t oh = ohLo; oh <= ohHi; ++oh)
              for (int64_t ow = owLo; ow <= owHi; ++ow)
                acc += dyv[static_cast<size_t>(((n * g.c + ci) * g.oh + oh) * g.ow + ow)];
            dx[static_cast<size_t>(((n * g.c + ci) * g.h + h) * g.w + x)] = acc / size;
          }
    return out;
  });
}

}  // namespace dlc::interp
