//===- passes/pipeline.cpp - the pass registry and the pipeline runner -----===//
#include "passes/pipeline.h"

#include <chrono>

#include "ir/printer.h"
#include "ir/verifier.h"

namespace dlc {

// Every pass function, declared from the registry so that this file needs no list of
// its own (the definitions live in the passes' own files and headers).
#define DL_PASS(cliName, fn) Expected<bool> fn(Module &m, const PassOptions &opts);
#include "passes/passes.def"

namespace {

constexpr PassEntry kPasses[] = {
#define DL_PASS(cliName, fn) {cliName, &fn},
#include "passes/passes.def"
};

/// Puts \p headline (naming the pass) before the pass's own diagnostics.
Error withHeadline(Error e, std::string headline) {
  Diagnostic head = makeDiag(Location{}, "{}", headline);
  std::vector<Diagnostic> all;
  all.push_back(std::move(head));
  for (Diagnostic &d : e.diagnostics()) all.push_back(std::move(d));
  return Error(std::move(all));
}

struct PassTiming {
  std::string_view name;
  double passSeconds = 0;
  double verifySeconds = 0;
};

void printTimings(std::FILE *out, const std::vector<PassTiming> &t) {
  double total = 0;
  for (const PassTiming &p : t) total += p.passSeconds + p.verifySeconds;
  fmt::print(out, "===-------------------------------------------------------------------===\n");
  fmt::print(out, "                         dlc pass execution timing report\n");
  fmt::print(out, "===-------------------------------------------------------------------===\n");
  fmt::print(out, "  Total: {:.6f} s\n\n", total);
  fmt::print(out, "  {:>12}  {:>7}  {:>12}  {}\n", "pass (s)", "%", "verify (s)", "name");
  for (const PassTiming &p : t) {
    double pct = total > 0 ? 100.0 * (p.passSeconds + p.verifySeconds) / total : 0.0;
    fmt::print(out, "  {:>12.6f}  {:>6.1f}%  {:>12.6f}  {}\n", p.passSeconds, pct, p.verifySeconds,
               p.name);
  }
}

}  // namespace

std::span<const PassEntry> registeredPasses() { return kPasses; }

const PassEntry *lookupPass(std::string_view name) {
  for (const PassEntry &p : kPasses)
    if (p.name == name) return &p;
  return nullptr;
}

std::string knownPassNames() {
  std::string out;
  for (const PassEntry &p : kPasses) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

Expected<std::vector<PassEntry>> parsePassPipeline(std::string_view list) {
  std::vector<PassEntry> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view name = list.substr(pos, comma - pos);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name.empty())
      return makeError(Location{}, "empty pass name in pipeline '{}'; known passes: {}", list,
                       knownPassNames());
    const PassEntry *p = lookupPass(name);
    if (!p)
      return makeError(Location{}, "unknown pass '{}'; known passes: {}", name, knownPassNames());
    out.push_back(*p);
    pos = comma + 1;
  }
  return out;
}

void dumpModuleAfter(std::FILE *out, const Module &m, std::string_view passName) {
  fmt::print(out, "// ----- IR after {} -----\n{}", passName, printModule(m));
  std::fflush(out);
}

Expected<bool> runPipeline(Module &m, std::span<const PassEntry> passes, const PipelineOptions &o) {
#ifdef NDEBUG
  const bool verifyEach = o.verifyEach;
#else
  const bool verifyEach = true;  // debug builds check every pass's postcondition
#endif
  using Clock = std::chrono::steady_clock;
  std::vector<PassTiming> timings;
  bool changedAny = false;
  for (const PassEntry &p : passes) {
    PassTiming t{p.name};
    Clock::time_point start = Clock::now();
    Expected<bool> changed = p.fn(m, o.passOpts);
    t.passSeconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (!changed) return withHeadline(changed.takeError(), fmt::format("pass '{}' failed", p.name));
    changedAny |= *changed;
    if (verifyEach) {
      start = Clock::now();
      Expected<void> ok = verify(m);
      t.verifySeconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (!ok) return withHeadline(ok.takeError(),
                            fmt::format("module does not verify after pass '{}'", p.name));
    }
    timings.push_back(t);
    if (o.printAfterAll || o.printAfter.count(p.name)) dumpModuleAfter(o.dumpStream, m, p.name);
  }
  if (o.timePasses) printTimings(o.timingStream, timings);
  return changedAny;
}

}  // namespace dlc
