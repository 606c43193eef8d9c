//===- codegen/jit.cpp - ORC LLJIT, the kernel cache and parallel compiles --===//
//
// compile() emits each kernel into its own module under the canonical name `kernel`,
// prints it and hashes the text (xxHash64). Cache misses are renamed to a unique,
// readable symbol (`add_3.1f2e...`) and added to the LLJIT; one lookup of all new
// symbols lets ORC materialize them concurrently: the IR transform layer runs the
// optimization pipeline and ConcurrentIRCompiler the code generator, both on the
// compile threads. Kernels call libm (expf, tanhf, ...) through a generator that
// resolves symbols in the host process.
//
//===----------------------------------------------------------------------===//
#include "codegen/jit.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Support/xxhash.h>

#include "codegen/kernel_emitter.h"
#include "codegen/llvm_support.h"

namespace dlc {
namespace {

/// A key that identifies the target and numerics of a JIT.
std::string optionsKey(const CodegenOptions &o) {
  return fmt::format("{}|{}|{}|{}|{}", o.cpu, o.features, o.optLevel, o.fastMath, static_cast<int>(o.math));
}

struct CacheEntry {
  std::string ir;
  KernelFn fn;
};

}  // namespace

struct Jit::Impl {
  CodegenOptions opts;
  TargetInfo target;
  std::unique_ptr<llvm::orc::LLJIT> jit;
  mutable std::mutex mu;
  std::unordered_map<uint64_t, std::vector<CacheEntry>> cache;
  Stats stats;
  std::atomic<uint64_t> serial{0};  ///< makes every symbol unique
};

Jit::Jit(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Jit::~Jit() = default;

const TargetInfo &Jit::target() const { return impl_->target; }
const CodegenOptions &Jit::options() const { return impl_->opts; }

Jit::Stats Jit::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

Expected<std::shared_ptr<Jit>> Jit::create(const CodegenOptions &opts) {
  DL_TRY(TargetInfo target, resolveTarget(opts));
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  impl->target = target;

  llvm::orc::JITTargetMachineBuilder jtmb{llvm::Triple(target.triple)};
  jtmb.setCPU(target.cpu);
  jtmb.getFeatures() = llvm::SubtargetFeatures(target.features);
  jtmb.setOptions(cg::targetOptions(opts));
  jtmb.setCodeGenOptLevel(cg::codegenLevel(opts.optLevel));

  unsigned threads = opts.compileThreads > 0 ? static_cast<unsigned>(opts.compileThreads)
                                             : std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb).setNumCompileThreads(threads).create();
  if (!jit) return cg::toError(jit.takeError(), "cannot create the LLVM JIT");
  impl->jit = std::move(*jit);

  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      impl->jit->getDataLayout().getGlobalPrefix());
  if (!gen) return cg::toError(gen.takeError(), "cannot expose the process's symbols to the JIT");
  impl->jit->getMainJITDylib().addGenerator(std::move(*gen));

  // Optimization runs as each module is materialized, on ORC's compile threads.
  const int optLevel = opts.optLevel;
  impl->jit->getIRTransformLayer().setTransform(
      [jtmb, optLevel](llvm::orc::ThreadSafeModule tsm, llvm::orc::MaterializationResponsibility &)
          -> llvm::Expected<llvm::orc::ThreadSafeModule> {
        llvm::orc::JITTargetMachineBuilder builder = jtmb;  // runs on several threads
        auto tm = builder.createTargetMachine();
        if (!tm) return tm.takeError();
        tsm.withModuleDo([&](llvm::Module &m) { cg::optimizeModule(m, **tm, optLevel); });
        return tsm;
      });
  return std::shared_ptr<Jit>(new Jit(std::move(impl)));
}

Expected<std::shared_ptr<Jit>> Jit::shared(const CodegenOptions &opts) {
  // Never destroyed: JITs outlive every executable, and tearing LLVM down in static
  // destructors is fragile. Reachable from a static, so leak checkers stay quiet.
  static std::mutex mu;
  static auto *registry = new std::map<std::string, std::shared_ptr<Jit>>();
  std::lock_guard<std::mutex> lock(mu);
  const std::string key = optionsKey(opts);
  if (auto it = registry->find(key); it != registry->end()) return it->second;
  DL_TRY(std::shared_ptr<Jit> jit, create(opts));
  (*registry)[key] = jit;
  return jit;
}

Expected<std::vector<KernelFn>> Jit::compile(std::span<const KernelSpec> kernels) {
  Impl &im = *impl_;
  std::vector<KernelFn> fns(kernels.size(), nullptr);

  struct Pending {
    std::string ir, symbol;
    uint64_t hash;
    std::vector<size_t> users;  ///< indices into `kernels`
  };
  std::vector<Pending> pending;
  std::unordered_map<std::string, size_t> pendingByIr;
  std::vector<llvm::orc::ThreadSafeModule> modules;

  for (size_t i = 0; i < kernels.size(); ++i) {
    // Canonical names (module and function `kernel`): the IR text, hence the cache key,
    // depends only on what the kernel computes.
    auto [ctx, mod] = cg::newKernelModule("kernel", im.jit->getDataLayout(), im.jit->getTargetTriple().str());
    llvm::Function *entry = cg::emitKernel(*mod, kernels[i], "kernel", im.target, im.opts);
    std::string ir = cg::moduleText(*mod);
    const uint64_t hash = llvm::xxHash64(ir);
    {
      std::lock_guard<std::mutex> lock(im.mu);
      if (auto it = im.cache.find(hash); it != im.cache.end()) {
        auto hit = std::find_if(it->second.begin(), it->second.end(), [&](const CacheEntry &c) { return c.ir == ir; });
        if (hit != it->second.end()) {
          fns[i] = hit->fn;
          ++im.stats.cacheHits;
          continue;
        }
      }
    }
    if (auto it = pendingByIr.find(ir); it != pendingByIr.end()) {  // a duplicate in this batch
      pending[it->second].users.push_back(i);
      continue;
    }
    // Unique per JIT: the readable name, the hash, and a serial against collisions.
    std::string symbol = fmt::format("{}.{:016x}.{}", kernels[i].name, hash, im.serial++);
    entry->setName(symbol);
    pendingByIr.emplace(ir, pending.size());
    pending.push_back(Pending{std::move(ir), symbol, hash, {i}});
    modules.emplace_back(std::move(mod), std::move(ctx));
  }
  if (pending.empty()) return fns;

  llvm::orc::SymbolLookupSet names;
  // Straight into the optimizing transform layer: LLJIT::addIRModule's platform layer
  // would clone every module into a new context (for concurrency), but each kernel has
  // its own context already, with the diagnostic handler that keeps remarks quiet.
  llvm::orc::ResourceTrackerSP tracker = im.jit->getMainJITDylib().getDefaultResourceTracker();
  for (size_t p = 0; p < pending.size(); ++p) {
    if (llvm::Error e = im.jit->getIRTransformLayer().add(tracker, std::move(modules[p])))
      return cg::toError(std::move(e), "cannot add a kernel to the JIT");
    names.add(im.jit->mangleAndIntern(pending[p].symbol));
  }
  llvm::orc::ExecutionSession &es = im.jit->getExecutionSession();
  auto found = es.lookup(llvm::orc::makeJITDylibSearchOrder(&im.jit->getMainJITDylib()), std::move(names));
  if (!found) return cg::toError(found.takeError(), "cannot compile kernels");

  std::lock_guard<std::mutex> lock(im.mu);
  for (Pending &p : pending) {
    auto it = found->find(im.jit->mangleAndIntern(p.symbol));
    DL_ASSERT(it != found->end(), "the JIT did not return a requested kernel");
    auto fn = reinterpret_cast<KernelFn>(static_cast<uintptr_t>(it->second.getAddress()));
    for (size_t u : p.users) fns[u] = fn;
    im.cache[p.hash].push_back(CacheEntry{std::move(p.ir), fn});
    ++im.stats.compiled;
  }
  return fns;
}

}  // namespace dlc
