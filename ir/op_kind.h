//===- ir/op_kind.h - OpKind and the facts derived from ops.def ------------===//
//
// The enum of primitive ops and a constexpr table of their facts, both generated
// from ir/ops.def so that no list of ops is ever written twice.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace dlc {

/// Bit set of per-op traits (see ops.def for their meaning).
enum OpTraits : uint32_t {
  kNone = 0,
  kElementwise = 1u << 0,
  kCommutative = 1u << 1,
  kReduction = 1u << 2,
  kShapeOnly = 1u << 3,
  kNoGrad = 1u << 4,
  kTypeGiven = 1u << 5,
  kOwnKernel = 1u << 6,
  kCostly = 1u << 7,
};

constexpr OpTraits operator|(OpTraits a, OpTraits b) {
  return static_cast<OpTraits>(static_cast<uint32_t>(a) | static_cast<uint32_t>(b));
}

/// Every primitive op.
enum class OpKind : uint8_t {
#define DL_OP(name, mnem, arity, traits, attrs) name,
#include "ir/ops.def"
};

/// The static facts of one op.
struct OpInfo {
  std::string_view mnemonic;
  int arity;  ///< -1: variadic, at least one operand.
  OpTraits traits;
};

inline constexpr OpInfo kOpInfo[] = {
#define DL_OP(name, mnem, arity, traits, attrs) {mnem, arity, traits},
#include "ir/ops.def"
};

inline constexpr int kNumOps = static_cast<int>(sizeof(kOpInfo) / sizeof(kOpInfo[0]));

constexpr const OpInfo &opInfo(OpKind k) { return kOpInfo[static_cast<int>(k)]; }
constexpr std::string_view mnemonic(OpKind k) { return opInfo(k).mnemonic; }
constexpr bool hasTrait(OpKind k, OpTraits t) { return (opInfo(k).traits & t) != 0; }

/// All op kinds, in ops.def order (for tests generated from the table).
constexpr OpKind opKindAt(int i) { return static_cast<OpKind>(i); }

/// Looks up an op by its mnemonic.
std::optional<OpKind> opKindFromMnemonic(std::string_view m);

}  // namespace dlc
