//===- train/model_file.cpp - models from .dlc loss functions ----------------===//
#include <cmath>
#include <cstring>

#include "frontend/init.h"
#include "ir/verifier.h"
#include "train/trainer.h"

namespace dlc {

Expected<Model> modelFromModule(Module module, std::string_view function, uint64_t seed) {
  Function *f = function.empty() ? (module.functions().empty() ? nullptr : module.functions().front().get())
                                 : module.lookup(function);
  if (!f)
    return makeError({}, "no function {}", function.empty() ? std::string("in the module") : "'@" + std::string(function) + "'");
  if (f->results().empty() || f->results().size() > 2 || !f->results()[0]->type().isScalar() ||
      !isFloat(f->results()[0]->dtype()))
    return makeError(f->loc, "'@{}' must return the loss (a floating-point scalar) and optionally the logits",
                     f->name());
  // Inputs: x and labels by name, else the last two arguments.
  int xi = -1, yi = -1;
  for (size_t i = 0; i < f->numArgs(); ++i) {
    if (f->arg(i)->name() == "x") xi = static_cast<int>(i);
    if (f->arg(i)->name() == "labels") yi = static_cast<int>(i);
  }
  if (xi < 0 && yi < 0 && f->numArgs() >= 2) {
    xi = static_cast<int>(f->numArgs()) - 2;
    yi = xi + 1;
  }
  if (xi < 0 || yi < 0)
    return makeError(f->loc, "'@{}' needs two inputs named %x and %labels (the other arguments are parameters)",
                     f->name());
  std::vector<int> order;
  Model m;
  for (size_t i = 0; i < f->numArgs(); ++i) {
    if (static_cast<int>(i) == xi || static_cast<int>(i) == yi) continue;
    const Value *a = f->arg(i);
    if (!isFloat(a->dtype()))
      return makeError(f->loc, "argument %{} of '@{}' is {}: parameters must be floating-point (name the inputs "
                       "%x and %labels)", a->name(), f->name(), a->type());
    if (a->name().empty()) return makeError(f->loc, "argument {} of '@{}' needs a name", i, f->name());
    Parameter p;
    p.name = a->name();
    p.init = a->rank() >= 2 ? Init::kaimingUniform(std::sqrt(5.0)) : Init::zeros();
    DL_TRY(p.initial, initialize(p.init, a->type(), deriveSeed(seed, p.name)));
    m.params.push_back(std::move(p));
    order.push_back(static_cast<int>(i));
  }
  order.push_back(xi);
  order.push_back(yi);
  m.inputNames = {f->arg(xi)->name(), f->arg(yi)->name()};
  f->permuteArgs(order);
  if (auto r = verify(*f); !r) return r.takeError();
  m.function = f;
  m.module = std::move(module);
  return m;
}

Expected<HostTensor> reshapeSamples(HostTensor samples, const TensorType &batchType) {
  if (samples.type().rank() < 1 || batchType.rank() < 1)
    return makeError({}, "cannot batch {} as {}: both need a leading sample dimension", samples.type(), batchType);
  const int64_t n = samples.shape()[0];
  Shape s = batchType.shape;
  s[0] = n;
  TensorType t{samples.dtype(), s};
  if (samples.type() == t) return samples;
  if (samples.dtype() != batchType.dtype || t.numElements() != samples.numElements())
    return makeError({}, "samples {} do not fit the model's input {}", samples.type(), batchType);
  HostTensor out(t);
  std::memcpy(out.raw(), samples.raw(), static_cast<size_t>(samples.numBytes()));
  return out;
}

}  // namespace dlc
