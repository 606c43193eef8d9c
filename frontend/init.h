//===- frontend/init.h - seeded parameter initializers ---------------------===//
//
// Initializers compute a parameter's initial HostTensor from a seed with dlc's own
// random number generator (splitmix64 for bits, Box-Muller for normals), so values are
// identical across compilers and standard libraries (std::normal_distribution is not).
// The only libm calls are log, sqrt, cos and sin in double precision; rounding the
// result to f32 hides last-ulp differences between libms in all but freak cases.
//
// Fans follow PyTorch's convention (torch.nn.init._calculate_fan_in_and_fan_out) for
// weights stored as [out, in] or [out, in, kh, kw]: fanIn = shape[1] * receptive field,
// fanOut = shape[0] * receptive field.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ir/diagnostic.h"
#include "ir/host_tensor.h"
#include "ir/types.h"

namespace dlc {

/// Deterministic 64-bit generator: splitmix64 (Steele, Lea, Flood 2014), which passes
/// BigCrush and needs one add and a few multiplies per draw.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  /// The next 64 random bits.
  uint64_t next();
  /// Uniform in [0, 1), with 53 random bits.
  double uniform();
  /// Standard normal (Box-Muller; the second value of each pair is kept for next time).
  double normal();

 private:
  uint64_t state_;
  double spare_ = 0.0;
  bool hasSpare_ = false;
};

/// The splitmix64 output function: a strong 64-bit mix.
uint64_t mix64(uint64_t x);
/// The stream seed of the parameter called \p name under graph seed \p seed.
uint64_t deriveSeed(uint64_t seed, std::string_view name);

/// How to initialize a parameter. Build one with the static functions.
struct Init {
  enum class Kind : uint8_t {
    Zeros,
    Constant,       ///< a = value
    Uniform,        ///< U(a, b)
    Normal,         ///< N(mean a, std b)
    KaimingUniform, ///< U(-bound, bound), bound = gain(a) * sqrt(3 / fanIn)
    KaimingNormal,  ///< N(0, gain(a) / sqrt(fanIn))
    XavierUniform,  ///< U(-bound, bound), bound = a * sqrt(6 / (fanIn + fanOut))
    XavierNormal,   ///< N(0, a * sqrt(2 / (fanIn + fanOut)))
  };
  Kind kind = Kind::Zeros;
  double a = 0.0, b = 0.0;

  static Init zeros() { return {Kind::Zeros, 0, 0}; }
  static Init constant(double v) { return {Kind::Constant, v, 0}; }
  static Init uniform(double lo, double hi) { return {Kind::Uniform, lo, hi}; }
  static Init normal(double mean = 0.0, double std = 1.0) { return {Kind::Normal, mean, std}; }
  /// He/Kaiming (fan_in mode) for a leaky ReLU of negative slope \p a:
  /// gain = sqrt(2 / (1 + a^2)); a = 0 is plain ReLU. PyTorch's default for Linear and
  /// Conv weights is kaimingUniform(sqrt(5)), i.e. U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
  static Init kaimingUniform(double a = 0.0) { return {Kind::KaimingUniform, a, 0}; }
  static Init kaimingNormal(double a = 0.0) { return {Kind::KaimingNormal, a, 0}; }
  /// Glorot/Xavier with gain \p gain.
  static Init xavierUniform(double gain = 1.0) { return {Kind::XavierUniform, gain, 0}; }
  static Init xavierNormal(double gain = 1.0) { return {Kind::XavierNormal, gain, 0}; }

  /// `kaiming_uniform(a=2.23607)` - for messages and tests.
  std::string str() const;
  friend bool operator==(const Init &, const Init &) = default;
};

/// Fan-in and fan-out of a weight of shape \p s (PyTorch convention, see above).
struct Fans {
  int64_t in = 0, out = 0;
};
/// The fans of \p s; an error for rank < 2 (the fans of a vector are not defined).
Expected<Fans> computeFans(const Shape &s);

/// The initial value of a tensor of type \p t under \p init, drawn from the stream
/// \p seed in row-major order. Random initializers need a floating-point type; the
/// fan-based ones need rank >= 2.
Expected<HostTensor> initialize(const Init &init, const TensorType &t, uint64_t seed);

}  // namespace dlc
