//===- ir/attrs.cpp - typed attribute structs ------------------------------===//
#include "ir/attrs.h"

#include "ir/diagnostic.h"

namespace dlc {

std::string_view cmpDirName(CmpDir d) {
  switch (d) {
  case CmpDir::Eq: return "eq";
  case CmpDir::Ne: return "ne";
  case CmpDir::Lt: return "lt";
  case CmpDir::Le: return "le";
  case CmpDir::Gt: return "gt";
  case CmpDir::Ge: return "ge";
  }
  return "?";
}

Attrs defaultAttrs(OpKind k) {
  switch (k) {
#define DL_OP(name, mnem, arity, traits, attrs) \
  case OpKind::name: return attrs{};
#include "ir/ops.def"
  }
  DL_UNREACHABLE("covered switch");
}

bool attrsMatchKind(OpKind k, const Attrs &a) {
  switch (k) {
#define DL_OP(name, mnem, arity, traits, attrs) \
  case OpKind::name: return std::holds_alternative<attrs>(a);
#include "ir/ops.def"
  }
  DL_UNREACHABLE("covered switch");
}

}  // namespace dlc
