//===- passes/optimizers.cpp - optimizer updates as IR ----------------------===//
//
// Each update follows the pseudo-code of the torch.optim documentation, term by term, in
// the parameter's dtype -- except Adam's last step, which is arranged as torch.optim.Adam's
// code arranges it (fewer divisions; adamStep). Notation: p = theta_{t-1}, g = gradient,
// lr = gamma, wd = lambda. Weight decay of SGD, Momentum, RMSprop and Adam is L2 (added
// to g); AdamW's is decoupled (p -= lr * wd * p, before the Adam step).
//
//===----------------------------------------------------------------------===//
#include "passes/optimizers.h"

#include <cmath>

namespace dlc {
namespace {

/// Elementwise arithmetic on values shaped like one parameter, with splat constants and
/// broadcast scalars made to match.
class Arith {
 public:
  Arith(Builder &b, const Value *like) : b_(b), type_(like->type()) {}

  /// A splat constant of the parameter's type.
  Value *k(double v) const { return b_.constant(v, type_); }
  /// A scalar value (any float dtype) cast and broadcast to the parameter's type.
  Value *spread(Value *scalar) const { return b_.broadcastTo(b_.cast(scalar, type_.dtype), type_.shape); }
  Value *add(Value *a, Value *c) const { return b_.add(a, c); }
  Value *sub(Value *a, Value *c) const { return b_.sub(a, c); }
  Value *mul(Value *a, Value *c) const { return b_.mul(a, c); }
  Value *div(Value *a, Value *c) const { return b_.div(a, c); }
  Value *sqrt(Value *a) const { return b_.sqrt(a); }

 private:
  Builder &b_;
  TensorType type_;
};

// Where two arguments of one call would each create nodes, they are separate statements:
// argument evaluation order is unspecified (GCC and clang differ), and the printed IR must
// not depend on the compiler. The order kept is the one the golden tests were written
// with.

/// g + wd * p (L2 weight decay), or g when wd is 0.
Value *withWeightDecay(const Arith &a, Value *g, Value *p, double wd) {
  return wd != 0.0 ? a.add(g, a.mul(a.k(wd), p)) : g;
}

void sgdUpdate(Builder &b, const Sgd &o, const StepScalars &s, ParamSlot &slot) {
  Arith a(b, slot.param);
  Value *g = withWeightDecay(a, slot.grad, slot.param, o.weightDecay);
  slot.newParam = a.sub(slot.param, a.mul(a.spread(s.lr), g));  // p - lr g
}

void momentumUpdate(Builder &b, const Momentum &o, const StepScalars &s, ParamSlot &slot) {
  Arith a(b, slot.param);
  Value *g = withWeightDecay(a, slot.grad, slot.param, o.weightDecay);
  Value *mu = a.k(o.momentum);
  Value *buf = a.add(a.mul(mu, slot.state[0]), g);  // b_t = mu b_{t-1} + g (b_0 = 0)
  Value *step = o.nesterov ? a.add(g, a.mul(mu, buf)) : buf;
  slot.newState = {buf};
  slot.newParam = a.sub(slot.param, a.mul(a.spread(s.lr), step));
}

void rmsPropUpdate(Builder &b, const RmsProp &o, const StepScalars &s, ParamSlot &slot) {
  Arith a(b, slot.param);
  Value *g = withWeightDecay(a, slot.grad, slot.param, o.weightDecay);
  size_t next = 0;
  // v_t = alpha v_{t-1} + (1 - alpha) g^2
  Value *gSq = a.mul(g, g);
  Value *vNew = a.mul(a.k(1.0 - o.alpha), gSq);
  Value *v = a.add(a.mul(a.k(o.alpha), slot.state[next++]), vNew);
  slot.newState.push_back(v);
  Value *vt = v;
  if (o.centered) {  // g_avg = alpha g_avg + (1 - alpha) g; vt = v - g_avg^2
    Value *gNew = a.mul(a.k(1.0 - o.alpha), g);
    Value *gAvg = a.add(a.mul(a.k(o.alpha), slot.state[next++]), gNew);
    slot.newState.push_back(gAvg);
    vt = a.sub(v, a.mul(gAvg, gAvg));
  }
  Value *eps = a.k(o.eps);
  Value *scaled = a.div(g, a.add(a.sqrt(vt), eps));  // g / (sqrt(vt) + eps)
  Value *lr = a.spread(s.lr);
  if (o.momentum > 0.0) {  // b_t = mu b_{t-1} + g / (sqrt(vt) + eps); p -= lr b_t
    Value *buf = a.add(a.mul(a.k(o.momentum), slot.state[next++]), scaled);
    slot.newState.push_back(buf);
    slot.newParam = a.sub(slot.param, a.mul(lr, buf));
  } else {
    slot.newParam = a.sub(slot.param, a.mul(lr, scaled));
  }
}

/// Adam's moment updates and step from \p p (already decayed for AdamW) with gradient g.
void adamStep(Builder &b, double beta1, double beta2, double eps, const StepScalars &s, Value *p,
              Value *g, ParamSlot &slot) {
  Arith a(b, slot.param);
  // m_t = b1 m + (1 - b1) g;  v_t = b2 v + (1 - b2) g^2
  Value *mNew = a.mul(a.k(1.0 - beta1), g);
  Value *m = a.add(a.mul(a.k(beta1), slot.state[0]), mNew);
  Value *gSq = a.mul(g, g);
  Value *vNew = a.mul(a.k(1.0 - beta2), gSq);
  Value *v = a.add(a.mul(a.k(beta2), slot.state[1]), vNew);
  slot.newState = {m, v};
  // Bias corrections 1 - b^t, computed once as scalars of the parameter's dtype.
  const DType d = slot.param->dtype();
  Value *t = b.cast(s.step, d);
  Value *one = b.scalar(1.0, d);
  Value *bc1 = b.sub(one, b.pow(b.scalar(beta1, d), t));
  Value *bc2 = b.sub(one, b.pow(b.scalar(beta2, d), t));
  // p_t = p - lr mHat / (sqrt(vHat) + eps) with mHat = m / bc1 and vHat = v / bc2, as
  // torch.optim.Adam computes it: step_size = lr / bc1 and sqrt(bc2) are scalars, and
  // p_t = p - step_size * (m / (sqrt(v) / sqrt(bc2) + eps)) -- two divisions and one
  // square root per element instead of the documentation's three divisions, which
  // bound the fused update (on AVX-512 a vdivps holds the divider ~10 cycles, while two
  // multiplies issue every cycle).
  Value *stepSize = b.div(b.cast(s.lr, d), bc1);
  Value *bc2Sqrt = b.sqrt(bc2);
  Value *bc2SqrtSpread = a.spread(bc2Sqrt);
  Value *root = a.div(a.sqrt(v), bc2SqrtSpread);
  Value *epsK = a.k(eps);
  Value *denom = a.add(root, epsK);
  Value *ratio = a.div(m, denom);
  Value *upd = a.mul(a.spread(stepSize), ratio);
  slot.newParam = a.sub(p, upd);
}

void adamUpdate(Builder &b, const Adam &o, const StepScalars &s, ParamSlot &slot) {
  Arith a(b, slot.param);
  Value *g = withWeightDecay(a, slot.grad, slot.param, o.weightDecay);
  adamStep(b, o.beta1, o.beta2, o.eps, s, slot.param, g, slot);
}

void adamWUpdate(Builder &b, const AdamW &o, const StepScalars &s, ParamSlot &slot) {
  Arith a(b, slot.param);
  Value *p = slot.param;
  if (o.weightDecay != 0.0) {  // p = p - lr wd p (decoupled)
    Value *wd = a.k(o.weightDecay);
    p = a.sub(p, a.mul(a.mul(a.spread(s.lr), wd), p));
  }
  adamStep(b, o.beta1, o.beta2, o.eps, s, p, slot.grad, slot);
}

}  // namespace

std::string_view optimizerName(const OptimizerConfig &o) {
  struct Visitor {
    std::string_view operator()(const Sgd &) const { return "sgd"; }
    std::string_view operator()(const Momentum &m) const { return m.nesterov ? "nesterov" : "momentum"; }
    std::string_view operator()(const RmsProp &) const { return "rmsprop"; }
    std::string_view operator()(const Adam &) const { return "adam"; }
    std::string_view operator()(const AdamW &) const { return "adamw"; }
  };
  return std::visit(Visitor{}, o);
}

std::optional<OptimizerConfig> optimizerFromName(std::string_view name) {
  if (name == "sgd") return Sgd{};
  if (name == "momentum") return Momentum{};
  if (name == "nesterov") return Momentum{.nesterov = true};
  if (name == "rmsprop") return RmsProp{};
  if (name == "adam") return Adam{};
  if (name == "adamw") return AdamW{};
  return std::nullopt;
}

std::vector<std::string> optimizerStateNames(const OptimizerConfig &o) {
  struct Visitor {
    std::vector<std::string> operator()(const Sgd &) const { return {}; }
    std::vector<std::string> operator()(const Momentum &) const { return {"momentum_buffer"}; }
    std::vector<std::string> operator()(const RmsProp &r) const {
      std::vector<std::string> names{"square_avg"};
      if (r.centered) names.push_back("grad_avg");
      if (r.momentum > 0.0) names.push_back("momentum_buffer");
      return names;
    }
    std::vector<std::string> operator()(const Adam &) const { return {"exp_avg", "exp_avg_sq"}; }
    std::vector<std::string> operator()(const AdamW &) const { return {"exp_avg", "exp_avg_sq"}; }
  };
  return std::visit(Visitor{}, o);
}

bool optimizerCountsSteps(const OptimizerConfig &o) {
  return std::holds_alternative<Adam>(o) || std::holds_alternative<AdamW>(o);
}

void buildParamUpdate(Builder &b, const OptimizerConfig &o, const StepScalars &s, ParamSlot &slot) {
  std::visit(
      [&](const auto &cfg) {
        using T = std::decay_t<decltype(cfg)>;
        if constexpr (std::is_same_v<T, Sgd>) sgdUpdate(b, cfg, s, slot);
        else if constexpr (std::is_same_v<T, Momentum>) momentumUpdate(b, cfg, s, slot);
        else if constexpr (std::is_same_v<T, RmsProp>) rmsPropUpdate(b, cfg, s, slot);
        else if constexpr (std::is_same_v<T, Adam>) adamUpdate(b, cfg, s, slot);
        else adamWUpdate(b, cfg, s, slot);
      },
      o);
}

void clipByGlobalNorm(Builder &b, std::vector<Value *> &grads, double maxNorm) {
  if (grads.empty()) return;
  // total = ||(||g_1||, ..., ||g_n||)||_2, in f32 (or f64 when the first gradient is).
  const DType d = grads[0]->dtype();
  Value *sumSq = nullptr;
  for (Value *g : grads) {
    Value *sq = b.mul(g, g);
    std::vector<int64_t> all;
    for (int64_t i = 0; i < g->rank(); ++i) all.push_back(i);
    Value *normI = b.sqrt(b.cast(all.empty() ? sq : b.reduceSum(sq, all), d));
    Value *normSq = b.mul(normI, normI);
    sumSq = sumSq ? b.add(sumSq, normSq) : normSq;
  }
  Value *total = b.sqrt(sumSq);
  // coef = min(maxNorm / (total + 1e-6), 1)
  Value *one = b.scalar(1.0, d);
  Value *denom = b.add(total, b.scalar(1e-6, d));
  Value *coef = b.min(b.div(b.scalar(maxNorm, d), denom), one);
  for (Value *&g : grads) g = b.mul(g, b.broadcastTo(b.cast(coef, g->dtype()), g->shape()));
}

}  // namespace dlc
