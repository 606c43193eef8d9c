//===- tests/gradcheck/test_models.cpp - small f64 models for gradient checks ===//
#include "tests/gradcheck/test_models.h"

#include <cmath>

namespace dlc::gradcheck {

Value *softmaxCrossEntropy(Builder &b, Value *logits, Value *labels) {
  const int64_t batch = logits->shape()[0], classes = logits->shape()[1];
  const Shape bk{batch, classes};
  Value *shifted = b.sub(logits, b.broadcast(b.reduceMax(logits, {1}), bk, {0}));
  Value *lse = b.log(b.reduceSum(b.exp(shifted), {1}));
  Value *logp = b.sub(shifted, b.broadcast(lse, bk, {0}));
  Value *picked = b.reduceSum(b.mul(b.oneHot(labels, classes, logits->dtype()), logp), {0, 1});
  return b.div(b.neg(picked), b.scalar(static_cast<double>(batch), logits->dtype()));
}

Value *relu(Builder &b, Value *x) { return b.max(x, b.splatLike(0.0, x)); }

Value *linear(Builder &b, Value *x, Value *w, Value *bias) {
  Value *y = b.matmul(x, w);
  return b.add(y, b.broadcast(bias, y->shape(), {1}));
}

namespace {

/// Adds a parameter argument with Uniform[-1, 1] / sqrt(fanIn) values.
Value *addParam(Function &f, TestModel &tm, Rng &rng, std::string name, Shape shape, int64_t fanIn) {
  Value *v = f.addArg(f64(shape), name);
  HostTensor t = randomTensor(f64(shape), Fill::Uniform, rng);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setDouble(i, t.getDouble(i) / std::sqrt(double(fanIn)));
  tm.inputs.push_back(std::move(t));
  tm.params.push_back(std::move(name));
  return v;
}

/// Adds the data arguments x (Uniform) and labels (in [0, classes)).
std::pair<Value *, Value *> addData(Function &f, TestModel &tm, Rng &rng, Shape xShape, int64_t classes) {
  Value *x = f.addArg(f64(xShape), "x");
  tm.inputs.push_back(randomTensor(f64(xShape), Fill::Uniform, rng));
  Value *labels = f.addArg(i32({xShape[0]}), "labels");
  HostTensor l(i32({xShape[0]}));
  for (int64_t i = 0; i < xShape[0]; ++i)
    l.setDouble(i, static_cast<double>(rng.integer(0, classes - 1)));
  tm.inputs.push_back(std::move(l));
  return {x, labels};
}

}  // namespace

TestModel buildMlp(Module &m, Rng &rng, int64_t batch, int64_t in, int64_t hidden, int64_t classes) {
  TestModel tm;
  Function &f = *m.addFunction("loss");
  auto [x, labels] = addData(f, tm, rng, {batch, in}, classes);
  Value *w1 = addParam(f, tm, rng, "w1", {in, hidden}, in);
  Value *b1 = addParam(f, tm, rng, "b1", {hidden}, in);
  Value *w2 = addParam(f, tm, rng, "w2", {hidden, hidden}, hidden);
  Value *b2 = addParam(f, tm, rng, "b2", {hidden}, hidden);
  Value *w3 = addParam(f, tm, rng, "w3", {hidden, classes}, hidden);
  Value *b3 = addParam(f, tm, rng, "b3", {classes}, hidden);
  Builder b(f);
  Value *h1 = relu(b, linear(b, x, w1, b1));
  Value *h2 = relu(b, linear(b, h1, w2, b2));
  f.setResults({softmaxCrossEntropy(b, linear(b, h2, w3, b3), labels)});
  return tm;
}

TestModel buildCnn(Module &m, Rng &rng, int64_t batch, int64_t size, int64_t c1, int64_t c2, int64_t hidden,
                   int64_t classes) {
  TestModel tm;
  Function &f = *m.addFunction("loss");
  auto [x, labels] = addData(f, tm, rng, {batch, 1, size, size}, classes);
  const int64_t flat = c2 * (size / 4) * (size / 4);
  Value *c1w = addParam(f, tm, rng, "c1w", {c1, 1, 5, 5}, 25);
  Value *c1b = addParam(f, tm, rng, "c1b", {c1}, 25);
  Value *c2w = addParam(f, tm, rng, "c2w", {c2, c1, 5, 5}, 25 * c1);
  Value *c2b = addParam(f, tm, rng, "c2b", {c2}, 25 * c1);
  Value *f1w = addParam(f, tm, rng, "f1w", {flat, hidden}, flat);
  Value *f1b = addParam(f, tm, rng, "f1b", {hidden}, flat);
  Value *f2w = addParam(f, tm, rng, "f2w", {hidden, classes}, hidden);
  Value *f2b = addParam(f, tm, rng, "f2b", {classes}, hidden);
  Builder b(f);
  const ConvAttrs conv{{1, 1}, {2, 2}, {1, 1}};
  const PoolAttrs pool{{2, 2}, {2, 2}, {0, 0}};
  auto block = [&](Value *in, Value *w, Value *bias) {
    Value *y = b.conv2d(in, w, conv);
    y = b.add(y, b.broadcast(bias, y->shape(), {1}));
    return b.maxPool2d(relu(b, y), pool);
  };
  Value *h = block(block(x, c1w, c1b), c2w, c2b);
  h = b.reshape(h, {batch, flat});
  h = relu(b, linear(b, h, f1w, f1b));
  f.setResults({softmaxCrossEntropy(b, linear(b, h, f2w, f2b), labels)});
  return tm;
}

}  // namespace dlc::gradcheck
