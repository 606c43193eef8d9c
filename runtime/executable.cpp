//===- runtime/executable.cpp - a compiled function, ready to run -----------===//
#include "runtime/executable.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include <unistd.h>

#include "ir/verifier.h"
#include "runtime/thread_pool.h"

namespace dlc {

int64_t maxArenaBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  return pages > 0 && pageSize > 0 ? static_cast<int64_t>(pages) * pageSize : int64_t{1} << 40;
}

void Executable::ArenaDeleter::operator()(std::byte *p) const { std::free(p); }

Executable::~Executable() = default;

Expected<std::unique_ptr<Executable>> Executable::compile(const Function &f, const ExecutableOptions &opts) {
  if (Expected<void> ok = verify(f); !ok) return ok.takeError();
  std::shared_ptr<Jit> jit = opts.jit;
  if (!jit) {
    DL_TRY(std::shared_ptr<Jit> shared, Jit::shared(opts.codegen));
    jit = std::move(shared);
  }
  // --check-numerics names the op that produced a NaN/Inf, so every op gets its own
  // kernel (strict numerics make that bitwise the same computation as the fused one).
  KernelPlanOptions planOpts = opts.plan;
  if (opts.checkNumerics) planOpts.fuse = false;
  const KernelPlan plan = planKernels(f, planOpts);
  DL_TRY(std::vector<KernelFn> fns, jit->compile(plan.kernels));
  const BufferPlan buffers = opts.planner(f, plan);

  std::unique_ptr<Executable> ex(new Executable());
  ex->name_ = f.name();
  ex->jit_ = std::move(jit);
  ex->flushDenormals_ = !opts.keepDenormals;
  ex->checkNumerics_ = opts.checkNumerics;
  ex->profile_ = opts.profile;
  const int threads = opts.codegen.threads > 0 ? opts.codegen.threads : ThreadPool::hardwareThreads();
  ex->pool_ = threads > 1 ? &ThreadPool::shared(threads) : nullptr;

  std::unordered_map<const Value *, size_t> slotOf;
  auto slotFor = [&](const Value *v) -> Expected<size_t> {
    if (auto it = slotOf.find(v); it != slotOf.end()) return it->second;
    auto it = buffers.slots.find(v);
    if (it == buffers.slots.end())
      return makeError(f.loc, "the buffer plan of '@{}' has no slot for a {} value", f.name(), typeString(v->type()));
    ex->slots_.push_back(Slot{it->second, v->type()});
    slotOf[v] = ex->slots_.size() - 1;
    if (opts.checkNumerics) {
      const Node *n = v->def();
      std::string name = v->name().empty() ? "" : fmt::format(" ('%{}')", v->name());
      ex->origins_.push_back(n ? Origin{fmt::format("op '{}'{}", n->mnemonic(), name), n->diagLoc()}
                               : Origin{fmt::format("argument {}{}", v->argIndex() + 1, name),
                                        f.parsedLoc.isKnown() ? f.parsedLoc : f.loc});
    }
    return ex->slots_.size() - 1;
  };
  for (size_t i = 0; i < f.numArgs(); ++i) {
    ex->argTypes_.push_back(f.arg(i)->type());
    ex->argNames_.push_back(f.arg(i)->name());
  }
  for (size_t k = 0; k < plan.kernels.size(); ++k) {
    const KernelSpec &spec = plan.kernels[k];
    Step step{spec.name, fns[k], {}, spec.domain.parallelExtent(), spec.chunk, {}};
    for (const Value *v : spec.inputs) {
      DL_TRY(size_t s, slotFor(v));
      step.slots.push_back(s);
    }
    for (const Value *v : spec.outputs) {
      DL_TRY(size_t s, slotFor(v));
      step.slots.push_back(s);
      if (opts.checkNumerics && isFloat(v->dtype())) step.checked.push_back(s);
    }
    // An empty output needs no launch (and its domain may divide by a zero extent).
    if (spec.root().type().numElements() == 0) step.extent = 0;
    ex->steps_.push_back(std::move(step));
  }
  if (ex->profile_)
    for (const Step &step : ex->steps_) ex->profileTimes_.push_back(KernelTime{step.name, 0, 0});
  for (const Value *r : f.results()) {
    DL_TRY(size_t s, slotFor(r));
    ex->resultSlots_.push_back(s);
  }
  ex->resultAliases_ = f.resultAliases();
  ex->resultAliases_.resize(f.results().size(), -1);
  // Arguments some kernel writes: donated buffers (run() copies those inputs first).
  for (const Step &step : ex->steps_)
    for (size_t b = step.slots.size() - plan.kernels[static_cast<size_t>(&step - ex->steps_.data())].outputs.size();
         b < step.slots.size(); ++b) {
      const BufferSlot &w = ex->slots_[step.slots[b]].where;
      const int arg = static_cast<int>(w.index);
      if (w.kind == BufferSlot::Kind::Argument &&
          std::find(ex->donatedArgs_.begin(), ex->donatedArgs_.end(), arg) == ex->donatedArgs_.end())
        ex->donatedArgs_.push_back(arg);
    }
  ex->donatedCopies_.resize(f.numArgs());
  ex->ptrs_.resize(ex->slots_.size());
  size_t maxBuffers = 0;
  for (const Step &step : ex->steps_) maxBuffers = std::max(maxBuffers, step.slots.size());
  ex->launchArgs_.reserve(maxBuffers);
  ex->arenaBytes_ = buffers.arenaBytes;
  if (buffers.arenaBytes < 0 || buffers.arenaBytes > maxArenaBytes())
    return makeError(f.loc, "cannot allocate {} bytes of buffers for '@{}': more than the machine's {} bytes of memory",
                     buffers.arenaBytes, f.name(), maxArenaBytes());
  // aligned_alloc wants a multiple of the alignment.
  const int64_t rounded = (std::max<int64_t>(buffers.arenaBytes, 1) + kBufferAlignment - 1) / kBufferAlignment *
                          kBufferAlignment;
  const size_t bytes = static_cast<size_t>(rounded);
  ex->arena_.reset(static_cast<std::byte *>(std::aligned_alloc(kBufferAlignment, bytes)));
  if (!ex->arena_)
    return makeError(f.loc, "cannot allocate {} bytes of buffers for '@{}': out of memory", bytes, f.name());
  ex->countAllocation(static_cast<int64_t>(bytes));
  return ex;
}

void Executable::countAllocation(int64_t bytes) {
  ++allocs_.count;
  allocs_.bytes += bytes;
}

Executable::AllocationStats Executable::allocationStats() const {
  std::lock_guard<std::mutex> lock(runMu_);
  return allocs_;
}

std::string Executable::findNonFinite(size_t slot, const void *data) const {
  const TensorType &t = slots_[slot].type;
  std::string found;
  auto scan = [&]<class T>(const T *p) {
    for (int64_t i = 0, n = t.numElements(); i < n; ++i)
      if (!std::isfinite(p[i])) {
        found = fmt::format("{} at element {} of {}", std::isnan(p[i]) ? "NaN" : p[i] > 0 ? "+Inf" : "-Inf", i,
                            typeString(t));
        return;
      }
  };
  if (t.dtype == DType::F32) scan(static_cast<const float *>(data));
  else if (t.dtype == DType::F64) scan(static_cast<const double *>(data));
  return found;
}

std::vector<KernelTime> Executable::kernelProfile() const {
  std::lock_guard<std::mutex> lock(runMu_);
  return profileTimes_;
}

std::vector<std::string> Executable::kernelNames() const {
  std::vector<std::string> names;
  for (const Step &s : steps_) names.push_back(s.name);
  return names;
}

int Executable::numThreads() const { return pool_ ? pool_->numThreads() : 1; }

Expected<void> Executable::checkArgs(std::span<const HostTensor> inputs) const {
  if (inputs.size() != argTypes_.size())
    return makeError(Location{}, "'@{}' expects {} argument(s), got {}", name_, argTypes_.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].type() != argTypes_[i]) {
      std::string what = argNames_[i].empty() ? fmt::format("argument {}", i + 1)
                                              : fmt::format("argument {} ('%{}')", i + 1, argNames_[i]);
      return makeError(Location{}, "'@{}' {} expects {}, got {}", name_, what, argTypes_[i], inputs[i].type());
    }
  return {};
}

Expected<void> Executable::runSchedule() {
  if (checkNumerics_)
    for (size_t s = 0; s < slots_.size(); ++s)
      if (slots_[s].where.kind == BufferSlot::Kind::Argument)
        if (std::string bad = findNonFinite(s, ptrs_[s]); !bad.empty())
          return makeError(origins_[s].loc, "--check-numerics: {} of '@{}' holds {}", origins_[s].what, name_, bad);
  // One pointer captured: the std::function of parallelFor keeps it inline (no allocation).
  struct Launch {
    void **bufs;
    KernelFn fn;
    bool ftz;
  } launch{nullptr, nullptr, flushDenormals_};
  auto chunk = [&launch](int64_t begin, int64_t end) {
    ScopedFlushDenormals ftz(launch.ftz);
    launch.fn(launch.bufs, begin, end);
  };
  for (const Step &step : steps_) {
    if (step.extent == 0) continue;
    launchArgs_.clear();
    for (size_t s : step.slots) launchArgs_.push_back(ptrs_[s]);
    launch.bufs = launchArgs_.data();
    launch.fn = step.fn;
    const auto t0 = profile_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    if (pool_) pool_->parallelFor(step.extent, step.chunk, chunk);
    else chunk(0, step.extent);
    if (profile_) {
      KernelTime &t = profileTimes_[static_cast<size_t>(&step - steps_.data())];
      ++t.launches;
      t.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    for (size_t s : step.checked)
      if (std::string bad = findNonFinite(s, ptrs_[s]); !bad.empty())
        return makeError(origins_[s].loc, "--check-numerics: kernel '{}' produced {}: {} of '@{}'", step.name, bad,
                         origins_[s].what, name_);
  }
  return {};
}

Expected<std::vector<HostTensor>> Executable::run(std::span<const HostTensor> inputs) {
  if (Expected<void> ok = checkArgs(inputs); !ok) return ok.takeError();
  std::lock_guard<std::mutex> lock(runMu_);
  for (int a : donatedArgs_) {
    // Kernels write this argument's buffer: work on an owned copy of the input.
    HostTensor &copy = donatedCopies_[static_cast<size_t>(a)];
    if (copy.type() != argTypes_[static_cast<size_t>(a)] || copy.numBytes() != inputs[static_cast<size_t>(a)].numBytes()) {
      copy = HostTensor(argTypes_[static_cast<size_t>(a)]);
      countAllocation(copy.numBytes());
    }
    if (copy.numBytes() > 0)
      std::memcpy(copy.raw(), inputs[static_cast<size_t>(a)].raw(), static_cast<size_t>(copy.numBytes()));
  }
  // Results first: the kernels of direct results (BufferSlot::Kind::Result) write them,
  // every element, and the others are copied in below: no zero-fill.
  std::vector<HostTensor> results;
  for (size_t s : resultSlots_) {
    results.push_back(HostTensor::uninitialized(slots_[s].type));
    countAllocation(results.back().numBytes());
  }
  for (size_t s = 0; s < slots_.size(); ++s) {
    const BufferSlot &w = slots_[s].where;
    const size_t a = static_cast<size_t>(w.index);
    if (w.kind == BufferSlot::Kind::Arena) ptrs_[s] = arena_.get() + w.offset;
    else if (w.kind == BufferSlot::Kind::Result) ptrs_[s] = results[a].raw();
    else if (std::find(donatedArgs_.begin(), donatedArgs_.end(), static_cast<int>(a)) != donatedArgs_.end())
      ptrs_[s] = donatedCopies_[a].raw();
    else ptrs_[s] = const_cast<std::byte *>(inputs[a].raw());  // kernels only read these
  }
  if (Expected<void> ok = runSchedule(); !ok) return ok.takeError();

  for (size_t r = 0; r < resultSlots_.size(); ++r) {
    const size_t s = resultSlots_[r];
    HostTensor &t = results[r];
    if (t.numBytes() > 0 && t.raw() != ptrs_[s]) std::memcpy(t.raw(), ptrs_[s], static_cast<size_t>(t.numBytes()));
  }
  return results;
}

Expected<void> Executable::runInPlace(std::span<HostTensor> args, std::span<HostTensor> results) {
  if (Expected<void> ok = checkArgs(std::span<const HostTensor>(args.data(), args.size())); !ok)
    return ok.takeError();
  if (results.size() != resultSlots_.size())
    return makeError(Location{}, "'@{}' has {} result(s), runInPlace got {} result tensor(s)", name_,
                     resultSlots_.size(), results.size());
  std::lock_guard<std::mutex> lock(runMu_);
  auto needsTensor = [](const HostTensor &t, const TensorType &type) {
    return t.type() != type || (type.numBytes() > 0 && t.raw() == nullptr);
  };
  for (size_t r = 0; r < resultSlots_.size(); ++r)
    if (resultAliases_[r] < 0 && needsTensor(results[r], slots_[resultSlots_[r]].type)) {
      results[r] = HostTensor(slots_[resultSlots_[r]].type);
      countAllocation(results[r].numBytes());
    }
  for (size_t s = 0; s < slots_.size(); ++s) {
    const BufferSlot &w = slots_[s].where;
    const size_t i = static_cast<size_t>(w.index);
    switch (w.kind) {
    case BufferSlot::Kind::Argument: ptrs_[s] = args[i].raw(); break;
    case BufferSlot::Kind::Result: ptrs_[s] = results[i].raw(); break;
    case BufferSlot::Kind::Arena: ptrs_[s] = arena_.get() + w.offset; break;
    }
  }
  if (Expected<void> ok = runSchedule(); !ok) return ok.takeError();
  for (size_t r = 0; r < resultSlots_.size(); ++r) {
    const size_t s = resultSlots_[r];
    const int alias = resultAliases_[r];
    HostTensor &dst = alias >= 0 ? args[static_cast<size_t>(alias)] : results[r];
    if (dst.raw() == ptrs_[s]) continue;  // written in place
    if (needsTensor(dst, slots_[s].type)) {
      dst = HostTensor(slots_[s].type);
      countAllocation(dst.numBytes());
    }
    if (dst.numBytes() > 0) std::memcpy(dst.raw(), ptrs_[s], static_cast<size_t>(dst.numBytes()));
  }
  return {};
}

}  // namespace dlc
