//===- codegen/jit.cpp - ORC LLJIT, the kernel cache and parallel compiles --===//
//
// compile() keys each kernel by its spec (kernel_key.h: the ops, shapes, dtypes and
// structure of the group; the JIT fixes the target and numerics), so a hit in the
// in-memory cache costs neither emitting nor printing LLVM IR. A miss is emitted into
// its own module under a unique, readable symbol (`add_3.1f2e...`, the name, the key's
// xxHash64 and a serial) and added to the LLJIT; one lookup of all new
// symbols lets ORC materialize them concurrently: the IR transform layer runs the
// optimization pipeline and ConcurrentIRCompiler the code generator, both on the
// compile threads. Kernels call libm (expf, tanhf, ...) through a generator that
// resolves symbols in the host process.
//
// With CodegenOptions::cacheDir set, a miss in memory looks in the on-disk cache
// (disk_cache.h) next: a stored object is added to the JIT as is, skipping optimization
// and code generation; a kernel compiled here reaches the disk through an
// llvm::ObjectCache on the compiler, which sees each module's object file (the module
// identifier carries the entry's key).
//
//===----------------------------------------------------------------------===//
#include "codegen/jit.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/ObjectCache.h>
#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/xxhash.h>

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

/// The identifier of a module whose object goes to the disk cache: the entry's key and
/// the kernel's symbol (neither contains '|'). Unique per module, so concurrent compiles
/// of one kernel (two symbols, one key) each store their own object with its own symbol.
std::string diskModuleId(const std::string &key, const std::string &symbol) { return key + "|" + symbol; }

/// Hands each object the compiler produces to the disk cache, under the key and symbol
/// its module identifier names (modules of kernels that bypass the disk cache have none).
class ObjectCacheWriter : public llvm::ObjectCache {
 public:
  explicit ObjectCacheWriter(cg::DiskCache &disk) : disk_(disk) {}
  void notifyObjectCompiled(const llvm::Module *m, llvm::MemoryBufferRef obj) override {
    const std::string &id = m->getModuleIdentifier();
    const size_t bar = id.find('|');
    if (bar == std::string::npos) return;
    disk_.store(id.substr(0, bar), id.substr(bar + 1), std::string_view(obj.getBufferStart(), obj.getBufferSize()));
  }
  std::unique_ptr<llvm::MemoryBuffer> getObject(const llvm::Module *) override { return nullptr; }

 private:
  cg::DiskCache &disk_;
};

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
  std::unique_ptr<ObjectCacheWriter> diskWriter;  ///< outlives the JIT's compilers
  std::unique_ptr<llvm::orc::LLJIT> jit;
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

  unsigned threads = opts.compileThreads > 0 ? static_cast<unsigned>(opts.compileThreads)
                                             : std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  llvm::orc::LLJITBuilder builder;
  builder.setJITTargetMachineBuilder(jtmb).setNumCompileThreads(threads);
  if (!opts.cacheDir.empty()) {
    impl->disk = std::make_unique<cg::DiskCache>(opts.cacheDir, codegenKey(target, opts));
    impl->diskWriter = std::make_unique<ObjectCacheWriter>(*impl->disk);
    builder.setCompileFunctionCreator(
        [writer = impl->diskWriter.get()](llvm::orc::JITTargetMachineBuilder b)
            -> llvm::Expected<std::unique_ptr<llvm::orc::IRCompileLayer::IRCompiler>> {
          return std::make_unique<llvm::orc::ConcurrentIRCompiler>(std::move(b), writer);
        });
  }
  auto jit = builder.create();
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
    std::string key, symbol;
    std::vector<size_t> users;  ///< indices into `kernels`
    std::optional<llvm::orc::ThreadSafeModule> module;
    bool compiles = true;  ///< false: the object came from disk
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
        pending.push_back(Pending{std::move(key), std::move(*symbol), {i}, std::nullopt, false});
        continue;
      }
    }
    // Unique: the readable name, the key's hash, and a serial against collisions.
    std::string symbol = fmt::format("{}.{:016x}.{:x}", kernels[i].name, llvm::xxHash64(key), im.serial++);
    auto [ctx, mod] = cg::newKernelModule(symbol, im.jit->getDataLayout(), im.jit->getTargetTriple().str());
    cg::emitKernel(*mod, kernels[i], symbol, im.target, im.opts);
    if (im.disk) mod->setModuleIdentifier(diskModuleId(diskKey, symbol));
    pendingByKey.emplace(key, pending.size());
    pending.push_back(
        Pending{std::move(key), symbol, {i}, llvm::orc::ThreadSafeModule(std::move(mod), std::move(ctx))});
  }
  if (pending.empty()) return fns;

  llvm::orc::SymbolLookupSet names;
  // Straight into the optimizing transform layer: LLJIT::addIRModule's platform layer
  // would clone every module into a new context (for concurrency), but each kernel has
  // its own context already, with the diagnostic handler that keeps remarks quiet.
  for (Pending &p : pending) {
    if (p.compiles)
      if (llvm::Error e = im.jit->getIRTransformLayer().add(tracker, std::move(*p.module)))
        return cg::toError(std::move(e), "cannot add a kernel to the JIT");
    names.add(im.jit->mangleAndIntern(p.symbol), llvm::orc::SymbolLookupFlags::RequiredSymbol);
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
    if (p.compiles) ++im.stats.compiled;
    im.cache.emplace(std::move(p.key), fn);
  }
  return fns;
}

}  // namespace dlc
