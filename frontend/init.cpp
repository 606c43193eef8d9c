//===- frontend/init.cpp - seeded parameter initializers -------------------===//
#include "frontend/init.h"

#include <cmath>
#include <numbers>

namespace dlc {

uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t Rng::next() {
  state_ += 0x9E3779B97F4A7C15ull;
  return mix64(state_);
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  if (hasSpare_) {
    hasSpare_ = false;
    return spare_;
  }
  // Box-Muller: u1 in (0, 1] keeps log() finite.
  double u1 = static_cast<double>((next() >> 11) + 1) * 0x1.0p-53;
  double u2 = uniform();
  double r = std::sqrt(-2.0 * std::log(u1));
  double theta = 2.0 * std::numbers::pi * u2;
  spare_ = r * std::sin(theta);
  hasSpare_ = true;
  return r * std::cos(theta);
}

uint64_t deriveSeed(uint64_t seed, std::string_view name) {
  uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ull;
  }
  return mix64(seed ^ mix64(h));
}

std::string Init::str() const {
  switch (kind) {
  case Kind::Zeros: return "zeros";
  case Kind::Constant: return fmt::format("constant({})", a);
  case Kind::Uniform: return fmt::format("uniform({}, {})", a, b);
  case Kind::Normal: return fmt::format("normal(mean={}, std={})", a, b);
  case Kind::KaimingUniform: return fmt::format("kaiming_uniform(a={})", a);
  case Kind::KaimingNormal: return fmt::format("kaiming_normal(a={})", a);
  case Kind::XavierUniform: return fmt::format("xavier_uniform(gain={})", a);
  case Kind::XavierNormal: return fmt::format("xavier_normal(gain={})", a);
  }
  return "?";
}

Expected<Fans> computeFans(const Shape &s) {
  if (s.size() < 2)
    return makeError({}, "fan-in/fan-out need a weight of rank >= 2, got {}", shapeString(s));
  int64_t receptive = 1;
  for (size_t i = 2; i < s.size(); ++i) receptive *= s[i];
  return Fans{s[1] * receptive, s[0] * receptive};
}

namespace {

/// The distribution an Init reduces to once the fans are known.
struct Dist {
  bool normal = false;  ///< else uniform
  double a = 0, b = 0;  ///< uniform [a, b) or normal (mean a, std b)
};

bool usesFans(Init::Kind k) {
  switch (k) {
  case Init::Kind::Zeros:
  case Init::Kind::Constant:
  case Init::Kind::Uniform:
  case Init::Kind::Normal: return false;
  case Init::Kind::KaimingUniform:
  case Init::Kind::KaimingNormal:
  case Init::Kind::XavierUniform:
  case Init::Kind::XavierNormal: return true;
  }
  return false;
}

Dist distOf(const Init &init, Fans f) {
  double kaimingGain = std::sqrt(2.0 / (1.0 + init.a * init.a));
  double in = static_cast<double>(f.in), sumFans = static_cast<double>(f.in + f.out);
  switch (init.kind) {
  case Init::Kind::Zeros:
  case Init::Kind::Constant: return {};
  case Init::Kind::Uniform: return {false, init.a, init.b};
  case Init::Kind::Normal: return {true, init.a, init.b};
  case Init::Kind::KaimingUniform: {
    double bound = kaimingGain * std::sqrt(3.0 / in);
    return {false, -bound, bound};
  }
  case Init::Kind::KaimingNormal: return {true, 0.0, kaimingGain / std::sqrt(in)};
  case Init::Kind::XavierUniform: {
    double bound = init.a * std::sqrt(6.0 / sumFans);
    return {false, -bound, bound};
  }
  case Init::Kind::XavierNormal: return {true, 0.0, init.a * std::sqrt(2.0 / sumFans)};
  }
  return {};
}

}  // namespace

Expected<HostTensor> initialize(const Init &init, const TensorType &t, uint64_t seed) {
  if (!numElements(t.shape)) return makeError({}, "parameter type {} is too large", t);
  if (init.kind == Init::Kind::Zeros) return HostTensor(t);
  if (init.kind == Init::Kind::Constant) return HostTensor::full(t, init.a);
  if (!isFloat(t.dtype))
    return makeError({}, "initializer {} needs a floating-point type, got {}", init.str(), t);
  Fans fans;
  if (usesFans(init.kind)) {
    Expected<Fans> f = computeFans(t.shape);
    if (!f) return makeError({}, "initializer {} for {}: {}", init.str(), t, f.error().message());
    if (f->in <= 0 || f->out <= 0) return makeError({}, "initializer {} for {}: zero fan", init.str(), t);
    fans = *f;
  }
  Dist d = distOf(init, fans);
  if (d.normal ? d.b < 0 : d.b < d.a)
    return makeError({}, "initializer {} has an empty or negative range", init.str());
  HostTensor h(t);
  Rng rng(seed);
  for (int64_t i = 0; i < h.numElements(); ++i)
    h.setDouble(i, d.normal ? d.a + d.b * rng.normal() : d.a + (d.b - d.a) * rng.uniform());
  return h;
}

}  // namespace dlc
