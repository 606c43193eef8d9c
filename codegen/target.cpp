//===- codegen/target.cpp - resolving the target CPU, target machines -------===//
//
// The host's CPU name and feature list come from llvm::sys. A feature override is
// checked against the names the host detection knows (every x86 ISA extension), so a
// misspelt `--target-features=-avx512` is an error instead of LLVM's warning on stderr.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <mutex>
#include <vector>

#include <llvm/ADT/StringMap.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/TargetParser/Host.h>

#include "codegen/llvm_support.h"

namespace dlc {
namespace {

/// Splits `+a,-b` into its non-empty entries.
std::vector<std::string> splitFeatures(std::string_view s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string_view::npos) comma = s.size();
    std::string_view item = s.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    pos = comma + 1;
  }
  return out;
}

}  // namespace

std::string TargetInfo::str() const {
  return fmt::format("{} {} ({}-bit vectors)", triple, cpu, vectorBits);
}

Expected<TargetInfo> resolveTarget(const CodegenOptions &opts) {
  cg::initializeLlvm();
  TargetInfo t;
  t.triple = llvm::sys::getProcessTriple();
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(t.triple, err);
  if (!target) return makeError(Location{}, "no LLVM target for '{}': {}", t.triple, err);

  llvm::StringMap<bool> hostFeatures;
  llvm::sys::getHostCPUFeatures(hostFeatures);
  std::vector<std::string> features;
  if (opts.cpu.empty()) {
    t.cpu = llvm::sys::getHostCPUName().str();
    for (const auto &f : hostFeatures) {
      std::string name(1, f.second ? '+' : '-');
      name.append(f.first().data(), f.first().size());
      features.push_back(std::move(name));
    }
    std::sort(features.begin(), features.end());  // stable text for the kernel cache
  } else {
    t.cpu = opts.cpu;
  }
  for (std::string &f : splitFeatures(opts.features)) {
    if (f[0] != '+' && f[0] != '-') f.insert(f.begin(), '+');
    if (!hostFeatures.empty() && !hostFeatures.count(f.substr(1)))
      return makeError(Location{}, "unknown target feature '{}' (expected LLVM names such as "
                                   "+avx2 or -avx512f)", f.substr(1));
    features.push_back(f);
  }
  for (size_t i = 0; i < features.size(); ++i) {
    if (i) t.features += ',';
    t.features += features[i];
  }

  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(t.triple, t.cpu, t.features));
  if (!sti || !sti->isCPUStringValid(t.cpu))
    return makeError(Location{}, "unknown target CPU '{}' (try x86-64, haswell, skylake-avx512)",
                     t.cpu);
  if (sti->checkFeatures("+avx512f"))
    t.vectorBits = 512;
  else if (sti->checkFeatures("+avx"))
    t.vectorBits = 256;
  else
    t.vectorBits = 128;
  return t;
}

namespace cg {

void initializeLlvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

Error toError(llvm::Error e, std::string_view what) {
  std::string msg = llvm::toString(std::move(e));
  return makeError(Location{}, "{}: {}", what, msg);
}

llvm::TargetOptions targetOptions(const CodegenOptions &opts) {
  llvm::TargetOptions to;
  // Strict: an fmul followed by an fadd is never contracted into an FMA, so kernels
  // round exactly like the interpreter (built with -ffp-contract=off).
  to.AllowFPOpFusion = opts.fastMath ? llvm::FPOpFusion::Fast : llvm::FPOpFusion::Strict;
  to.UnsafeFPMath = opts.fastMath;
  to.NoInfsFPMath = opts.fastMath;
  to.NoNaNsFPMath = opts.fastMath;
  to.NoSignedZerosFPMath = opts.fastMath;
  return to;
}

llvm::CodeGenOpt::Level codegenLevel(int level) {
  switch (std::clamp(level, 0, 3)) {
  case 0: return llvm::CodeGenOpt::None;
  case 1: return llvm::CodeGenOpt::Less;
  case 2: return llvm::CodeGenOpt::Default;
  default: return llvm::CodeGenOpt::Aggressive;
  }
}

Expected<std::unique_ptr<llvm::TargetMachine>> makeTargetMachine(const TargetInfo &t,
                                                                  const CodegenOptions &opts) {
  initializeLlvm();
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(t.triple, err);
  if (!target) return makeError(Location{}, "no LLVM target for '{}': {}", t.triple, err);
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      t.triple, t.cpu, t.features, targetOptions(opts), llvm::Reloc::PIC_, std::nullopt,
      codegenLevel(opts.optLevel), /*JIT=*/true));
  if (!tm) return makeError(Location{}, "cannot create a target machine for {}", t.str());
  return tm;
}

}  // namespace cg
}  // namespace dlc
