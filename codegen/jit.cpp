//===- codegen/jit.cpp - ORC LLJIT, the kernel cache and parallel compiles --===//
//
// compile() keys each kernel by its spec (kernel_key.h: the ops, shapes, dtypes and
// structure of the group; the JIT fixes the target and numerics), so a hit in the
// in-memory cache costs neither emitting nor printing LLVM IR. The misses are compiled
// by the JIT's own workers, the calling thread and compileThreads - 1 others: each takes
// the next kernel (the costliest first, by compileCost's estimate, so that no big kernel
// starts last), emits it into its own module and context under a unique,
// readable symbol (`add_3.1f2e...`: the name, the key's xxHash64 and a serial), runs
// the optimization pipeline and the code generator with a TargetMachine of its own
// (one per worker, reused for every kernel it takes) and keeps the object file. The
// objects are then added to the LLJIT, and one lookup links them (RuntimeDyld).
//
// With CodegenOptions::cacheDir set, a miss in memory looks in the on-disk cache
// (disk_cache.h) next: a stored object is added to the JIT as is, skipping emission,
// optimization and code generation; a worker stores each object it produces. Kernels
// call libm (expf, tanhf, ...) through a generator that resolves symbols in the host
// process.
//
// DLC_JIT_TIMES=1 prints each compiled kernel's emit, optimization and code generation
// CPU time to stderr; DLC_JIT_TIMES=passes adds LLVM's pass timers (timeReport below).
//
//===----------------------------------------------------------------------===//
#include "codegen/jit.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <unordered_map>

#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/JITEventListener.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/RTDyldObjectLinkingLayer.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/PassTimingInfo.h>
#include <llvm/Pass.h>
#include <llvm/MC/MCContext.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/SmallVectorMemoryBuffer.h>
#include <llvm/Support/Timer.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Support/xxhash.h>
#include <llvm/Target/TargetMachine.h>

#include <time.h>

#include "codegen/disk_cache.h"
#include "codegen/kernel_emitter.h"
#include "codegen/kernel_key.h"
#include "codegen/llvm_support.h"

namespace dlc {
namespace {

/// A key that identifies the target, numerics and disk cache of a JIT.
std::string optionsKey(const CodegenOptions &o) {
  return fmt::format("{}|{}|{}|{}|{}|{}", o.cpu, o.features, o.optLevel, o.fastMath, static_cast<int>(o.math),
                     o.cacheDir);
}

/// Whether \p object is an object file that defines \p symbol: a cache entry whose
/// checksum holds but whose contents do not fit is a miss, never a failed lookup.
bool definesSymbol(const std::string &object, const std::string &symbol) {
  auto file = llvm::object::ObjectFile::createObjectFile(llvm::MemoryBufferRef(object, "cached kernel"));
  if (!file) {
    llvm::consumeError(file.takeError());
    return false;
  }
  for (const llvm::object::SymbolRef &sym : (*file)->symbols()) {
    llvm::Expected<llvm::StringRef> name = sym.getName();
    if (!name) {
      llvm::consumeError(name.takeError());
      continue;
    }
    llvm::Expected<uint32_t> flags = sym.getFlags();
    if (!flags) {
      llvm::consumeError(flags.takeError());
      continue;
    }
    if (*name == symbol && (*flags & llvm::object::SymbolRef::SF_Global) &&
        !(*flags & llvm::object::SymbolRef::SF_Undefined))
      return true;
  }
  return false;
}

}  // namespace

struct Jit::Impl {
  CodegenOptions opts;
  TargetInfo target;
  std::unique_ptr<cg::DiskCache> disk;           ///< null without a cache directory
  std::unique_ptr<llvm::orc::LLJIT> jit;
  llvm::orc::JITTargetMachineBuilder machines{llvm::Triple()};  ///< each worker's TargetMachine
  unsigned threads = 1;                                           ///< workers per compile()
  mutable std::mutex mu;
  /// kernelKey -> entry point (the JIT fixes the rest of the key: codegenKey).
  std::unordered_map<std::string, KernelFn> cache;
  /// Disk entries added to this JIT (key -> symbol): an object is added only once.
  std::unordered_map<std::string, std::string> diskLoaded;
  Stats stats;
  /// Makes every symbol unique: in this JIT, and (starting at a random value) against
  /// the symbols of objects other processes stored in the disk cache, which this JIT may
  /// load while it compiles the same kernel itself.
  std::atomic<uint64_t> serial{0};
};

Jit::Jit(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Jit::~Jit() = default;

const TargetInfo &Jit::target() const { return impl_->target; }
const CodegenOptions &Jit::options() const { return impl_->opts; }

Jit::Stats Jit::stats() const {
  Stats s;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    s = impl_->stats;
  }
  if (impl_->disk) {
    cg::DiskCache::Stats d = impl_->disk->stats();
    s.diskWrites = d.writes;
    s.diskCorrupt = d.corrupt;
    s.diskWriteErrors = d.writeErrors;
  }
  return s;
}

const std::string &Jit::cacheDirectory() const {
  static const std::string none;
  return impl_->disk ? impl_->disk->directory() : none;
}

Expected<std::shared_ptr<Jit>> Jit::create(const CodegenOptions &opts) {
  DL_TRY(TargetInfo target, resolveTarget(opts));
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  impl->target = target;
  impl->serial = (uint64_t{std::random_device{}()} << 32) | std::random_device{}();

  llvm::orc::JITTargetMachineBuilder jtmb{llvm::Triple(target.triple)};
  jtmb.setCPU(target.cpu);
  jtmb.getFeatures() = llvm::SubtargetFeatures(target.features);
  jtmb.setOptions(cg::targetOptions(opts));
  jtmb.setCodeGenOptLevel(cg::codegenLevel(opts.optLevel));

  impl->machines = jtmb;
  impl->threads = opts.compileThreads > 0 ? static_cast<unsigned>(opts.compileThreads)
                                          : std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  if (!opts.cacheDir.empty())
    impl->disk = std::make_unique<cg::DiskCache>(opts.cacheDir, codegenKey(target, opts));
  // Kernels are compiled by compile()'s workers; the LLJIT only links their objects, on
  // the thread that looks them up.
  llvm::orc::LLJITBuilder builder;
  builder.setJITTargetMachineBuilder(jtmb).setNumCompileThreads(0);
  auto jit = builder.create();
  if (!jit) return cg::toError(jit.takeError(), "cannot create the LLVM JIT");
  impl->jit = std::move(*jit);
  // DLC_PERF=1: tell Linux perf where every kernel lies (LLVM's jitdump writer:
  // jit-<pid>.dump under $JITDUMPDIR or $HOME, in .debug/jit/llvm-IR-jit-*/), so that
  // `perf record -k 1` + `perf inject --jit` attribute samples to kernels and annotate
  // their instructions (docs/codegen.md, "Profiling generated code with perf").
  if (const char *v = std::getenv("DLC_PERF"); v && std::string_view(v) == "1") {
    auto *layer = llvm::dyn_cast<llvm::orc::RTDyldObjectLinkingLayer>(&impl->jit->getObjLinkingLayer());
    llvm::JITEventListener *perf = llvm::JITEventListener::createPerfJITEventListener();
    if (!layer || !perf) return makeError(Location{}, "DLC_PERF=1: this build of LLVM cannot report JIT code to perf");
    layer->registerJITEventListener(*perf);
  }

  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      impl->jit->getDataLayout().getGlobalPrefix());
  if (!gen) return cg::toError(gen.takeError(), "cannot expose the process's symbols to the JIT");
  impl->jit->getMainJITDylib().addGenerator(std::move(*gen));
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

namespace {

/// A guess at a kernel's compile time in units of ~0.1 ms (x86-64, AVX-512), to start
/// the costliest first. Calibrated on W1's step (DLC_JIT_TIMES=1): a generated GEMM is
/// ~30 ms plus ~1 ms per node of its epilogue; a loop kernel ~2 ms per node (its
/// vectorized loops are compiled three times over: vector body, vector epilogue and
/// scalar remainder), so the 67-node horizontal kernel of parameter updates, ~130 ms,
/// is the costliest and starts first.
int64_t compileCost(const KernelSpec &k) {
  const int64_t nodes = static_cast<int64_t>(k.nodes.size());
  switch (k.kind) {
  case KernelKind::MatMul: return isGemmKernel(k) ? 300 + 10 * nodes : 50 + 10 * nodes;
  case KernelKind::Conv: return 500 + 10 * nodes;
  case KernelKind::Loop: return 20 * nodes;
  case KernelKind::Horizontal: {
    int64_t sum = 0;
    for (const KernelSpec &p : k.parts) sum += compileCost(p);
    return sum;
  }
  }
  return nodes;
}

/// The compile-time report (a debug aid for W6): DLC_JIT_TIMES=1 prints one line per
/// compiled kernel to stderr (the thread CPU time of emitting, optimizing and generating
/// code, the IR's size after optimization, the object's); DLC_JIT_TIMES=passes also
/// turns on LLVM's pass timers and prints their reports: the optimization pipeline's per
/// kernel, code generation's for all kernels of one compile() together. LLVM's timers
/// read the process's CPU time, so that mode compiles on one thread.
enum class TimeReport { Off, Kernels, Passes };
TimeReport timeReport() {
  static const TimeReport r = [] {
    const char *v = std::getenv("DLC_JIT_TIMES");
    if (v == nullptr || *v == '\0' || std::string_view(v) == "0") return TimeReport::Off;
    return std::string_view(v) == "passes" ? TimeReport::Passes : TimeReport::Kernels;
  }();
  return r;
}

double threadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

size_t instructionCount(const llvm::Module &m) {
  size_t n = 0;
  for (const llvm::Function &f : m) n += f.getInstructionCount();
  return n;
}

/// Emits, optimizes and compiles one kernel to a relocatable object with \p tm.
Expected<std::unique_ptr<llvm::MemoryBuffer>> compileKernel(const KernelSpec &k, const std::string &symbol,
                                                           llvm::TargetMachine &tm, const TargetInfo &target,
                                                           const CodegenOptions &opts) {
  const bool report = timeReport() != TimeReport::Off;
  const double t0 = report ? threadCpuMs() : 0;
  auto [ctx, mod] = cg::newKernelModule(symbol, tm.createDataLayout(), target.triple);
  cg::emitKernel(*mod, k, symbol, target, opts);
  const double t1 = report ? threadCpuMs() : 0;
  const size_t emitted = report ? instructionCount(*mod) : 0;
  cg::optimizeModule(*mod, tm, opts.optLevel, /*inlineFirst=*/true, cg::pipelineOf(k));
  const double t2 = report ? threadCpuMs() : 0;
  const size_t optimized = report ? instructionCount(*mod) : 0;
  llvm::SmallVector<char, 0> object;
  llvm::raw_svector_ostream os(object);
  llvm::legacy::PassManager pm;
  llvm::MCContext *mc = nullptr;
  if (tm.addPassesToEmitMC(pm, mc, os)) return makeError(Location{}, "the target cannot emit object code");
  pm.run(*mod);
  if (report) {
    const double t3 = threadCpuMs();
    llvm::errs() << fmt::format("dlc-jit: {:<40} emit {:6.1f} ms  opt {:6.1f} ms  codegen {:6.1f} ms  IR {} -> {} "
                                "instructions  object {} bytes\n",
                                k.name, t1 - t0, t2 - t1, t3 - t2, emitted, optimized, object.size());
  }
  return std::unique_ptr<llvm::MemoryBuffer>(
      std::make_unique<llvm::SmallVectorMemoryBuffer>(std::move(object), symbol, /*RequiresNullTerminator=*/false));
}

}  // namespace

Expected<std::vector<KernelFn>> Jit::compile(std::span<const KernelSpec> kernels) {
  Impl &im = *impl_;
  std::vector<KernelFn> fns(kernels.size(), nullptr);

  struct Pending {
    std::string key, symbol, diskKey;
    std::vector<size_t> users;  ///< indices into `kernels`
    bool compiles = true;       ///< false: the object came from disk
    std::unique_ptr<llvm::MemoryBuffer> object;
    std::optional<Error> error;
  };
  std::vector<Pending> pending;
  std::unordered_map<std::string, size_t> pendingByKey;
  llvm::orc::ResourceTrackerSP tracker = im.jit->getMainJITDylib().getDefaultResourceTracker();

  for (size_t i = 0; i < kernels.size(); ++i) {
    std::string key = kernelKey(kernels[i]);
    {
      std::lock_guard<std::mutex> lock(im.mu);
      if (auto it = im.cache.find(key); it != im.cache.end()) {
        fns[i] = it->second;
        ++im.stats.cacheHits;
        continue;
      }
    }
    if (auto it = pendingByKey.find(key); it != pendingByKey.end()) {  // a duplicate in this batch
      pending[it->second].users.push_back(i);
      continue;
    }
    std::string diskKey;
    if (im.disk) {
      diskKey = im.disk->keyFor(key);
      std::optional<std::string> symbol;
      {
        std::lock_guard<std::mutex> lock(im.mu);  // added by an earlier or concurrent compile
        if (auto it = im.diskLoaded.find(diskKey); it != im.diskLoaded.end()) symbol = it->second;
      }
      if (!symbol) {
        std::optional<cg::DiskCache::Entry> e = im.disk->load(diskKey);
        if (e && !definesSymbol(e->object, e->symbol)) {
          im.disk->countCorrupt();
          e.reset();
        }
        if (e) {
          std::lock_guard<std::mutex> lock(im.mu);
          if (auto it = im.diskLoaded.find(diskKey); it != im.diskLoaded.end()) {
            symbol = it->second;
          } else {
            auto buffer = llvm::MemoryBuffer::getMemBufferCopy(e->object, diskKey);
            if (llvm::Error err = im.jit->addObjectFile(tracker, std::move(buffer)))
              return cg::toError(std::move(err), "cannot add a cached kernel to the JIT");
            im.diskLoaded.emplace(diskKey, e->symbol);
            symbol = std::move(e->symbol);
            ++im.stats.diskHits;
          }
        }
      }
      if (symbol) {
        pendingByKey.emplace(key, pending.size());
        pending.push_back(Pending{std::move(key), std::move(*symbol), std::move(diskKey), {i}, false, nullptr, {}});
        continue;
      }
    }
    // Unique: the readable name, the key's hash, and a serial against collisions.
    std::string symbol = fmt::format("{}.{:016x}.{:x}", kernels[i].name, llvm::xxHash64(key), im.serial++);
    pendingByKey.emplace(key, pending.size());
    pending.push_back(Pending{std::move(key), std::move(symbol), std::move(diskKey), {i}, true, nullptr, {}});
  }
  if (pending.empty()) return fns;

  // The kernels to compile, costliest first; workers take them in that order.
  std::vector<size_t> order;
  for (size_t p = 0; p < pending.size(); ++p)
    if (pending[p].compiles) order.push_back(p);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return compileCost(kernels[pending[a].users[0]]) > compileCost(kernels[pending[b].users[0]]);
  });
  std::atomic<size_t> next{0};
  std::mutex reportMu;
  std::vector<std::string> workerReport;  // DLC_JIT_TIMES: each worker's kernels and CPU time
  auto work = [&] {
    const double cpu0 = timeReport() != TimeReport::Off ? threadCpuMs() : 0;
    std::string done;  // DLC_JIT_TIMES: this worker's kernels
    std::unique_ptr<llvm::TargetMachine> tm;
    for (size_t n; (n = next.fetch_add(1)) < order.size();) {
      Pending &p = pending[order[n]];
      if (timeReport() != TimeReport::Off) done += " " + kernels[p.users[0]].name;
      if (!tm) {
        llvm::orc::JITTargetMachineBuilder b = im.machines;
        auto created = b.createTargetMachine();
        if (!created) {
          p.error = cg::toError(created.takeError(), "cannot create the LLVM target machine");
          continue;
        }
        tm = std::move(*created);
      }
      Expected<std::unique_ptr<llvm::MemoryBuffer>> obj =
          compileKernel(kernels[p.users[0]], p.symbol, *tm, im.target, im.opts);
      if (!obj) {
        p.error = obj.takeError();
        continue;
      }
      p.object = std::move(*obj);
      if (im.disk) im.disk->store(p.diskKey, p.symbol, p.object->getBuffer());
    }
    if (timeReport() != TimeReport::Off) {
      std::lock_guard<std::mutex> lock(reportMu);
      workerReport.push_back(fmt::format("{:.1f} ms CPU:{}", threadCpuMs() - cpu0, done));
    }
  };
  const size_t threads = timeReport() == TimeReport::Passes ? 1 : im.threads;
  const size_t helpers = std::min<size_t>(threads, order.size()) - (order.empty() ? 0 : 1);
  if (timeReport() == TimeReport::Passes) llvm::TimePassesIsEnabled = true;
  std::vector<std::thread> workers;
  for (size_t t = 0; t < helpers; ++t) workers.emplace_back(work);
  const auto wall0 = std::chrono::steady_clock::now();
  work();
  for (std::thread &t : workers) t.join();
  if (timeReport() != TimeReport::Off) {
    llvm::errs() << fmt::format(
        "dlc-jit: compiled {} kernels in {:.1f} ms on {} workers\n", order.size(),
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall0).count(),
        workerReport.size());
    for (const std::string &w : workerReport) llvm::errs() << "dlc-jit:   worker " << w << "\n";
  }
  if (timeReport() == TimeReport::Passes) llvm::reportAndResetTimings(&llvm::errs());

  llvm::orc::SymbolLookupSet names;
  for (Pending &p : pending) {
    if (p.error) return std::move(*p.error);
    if (p.compiles) {
      // A concurrent compile() of this JIT may have found the object a worker stored
      // above in the disk cache and added it already (the same symbol): use that one.
      // Adding ours too would define the symbol twice.
      std::lock_guard<std::mutex> lock(im.mu);
      if (auto it = im.disk ? im.diskLoaded.find(p.diskKey) : im.diskLoaded.end(); it != im.diskLoaded.end()) {
        p.symbol = it->second;
      } else {
        if (llvm::Error e = im.jit->addObjectFile(tracker, std::move(p.object)))
          return cg::toError(std::move(e), "cannot add a kernel to the JIT");
        if (im.disk) im.diskLoaded.emplace(p.diskKey, p.symbol);
      }
    }
    names.add(im.jit->mangleAndIntern(p.symbol), llvm::orc::SymbolLookupFlags::RequiredSymbol);
  }
  llvm::orc::ExecutionSession &es = im.jit->getExecutionSession();
  auto found = es.lookup(llvm::orc::makeJITDylibSearchOrder(&im.jit->getMainJITDylib()), std::move(names));
  if (!found) return cg::toError(found.takeError(), "cannot link kernels");

  std::lock_guard<std::mutex> lock(im.mu);
  for (Pending &p : pending) {
    auto it = found->find(im.jit->mangleAndIntern(p.symbol));
    DL_ASSERT(it != found->end(), "the JIT did not return a requested kernel");
    auto fn = reinterpret_cast<KernelFn>(static_cast<uintptr_t>(it->second.getAddress()));
    for (size_t u : p.users) fns[u] = fn;
    if (p.compiles) ++im.stats.compiled;
    im.cache.emplace(std::move(p.key), fn);
  }
  return fns;
}

}  // namespace dlc
