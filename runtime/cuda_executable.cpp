//===- runtime/cuda_executable.cpp - a compiled function on an NVIDIA GPU ---===//
#include "runtime/cuda_executable.h"

#include <algorithm>
#include <unordered_map>

#include "ir/verifier.h"
#include "runtime/buffer_plan.h"
#include "runtime/cuda_driver.h"

namespace dlc {

struct CudaExecutable::Impl {
  struct Step {
    std::string name;
    void *fn = nullptr;
    std::vector<size_t> slots;
    GpuLaunch launch;
  };
  struct Slot {
    BufferSlot where;
    TensorType type;
  };
  cuda::Driver *drv = nullptr;
  std::shared_ptr<cuda::Driver::Module> module;
  std::string name;
  std::vector<Step> steps;
  std::vector<Slot> slots;
  std::vector<cuda::DevicePtr> ptrs;  ///< per slot
  std::vector<TensorType> argTypes;
  std::vector<std::string> argNames;
  std::vector<cuda::DevicePtr> argBufs, resultBufs;
  cuda::DevicePtr arena = 0;
  std::vector<size_t> resultSlots;
  std::vector<int> resultAliases;
  std::vector<cuda::DevicePtr> launchArgs;
  bool wantGraph = false;
  void *graph = nullptr;  ///< the instantiated graph of the schedule
  std::string graphNote;

  ~Impl() {
    if (!drv) return;
    drv->destroyGraph(graph);
    for (cuda::DevicePtr p : argBufs) drv->free(p);
    for (cuda::DevicePtr p : resultBufs) drv->free(p);
    drv->free(arena);
  }
};

CudaExecutable::~CudaExecutable() = default;

size_t CudaExecutable::numKernels() const { return impl_->steps.size(); }

std::vector<std::string> CudaExecutable::kernelNames() const {
  std::vector<std::string> names;
  for (const Impl::Step &s : impl_->steps) names.push_back(s.name);
  return names;
}

std::string CudaExecutable::deviceName() const { return impl_->drv->deviceName(); }

Expected<std::unique_ptr<CudaExecutable>> CudaExecutable::compile(const Function &f, const CudaOptions &opts) {
  if (Expected<void> ok = verify(f); !ok) return ok.takeError();
  const KernelPlan plan = planKernels(f, gpuPlanOptions(opts.plan));
  // The PTX first: code generation errors come before driver errors, and a machine
  // without a GPU still checks that the function can be compiled.
  DL_TRY(PtxModule ptx, compileToPtx(plan.kernels, opts.codegen, opts.gpu));
  const BufferPlan buffers = planArena(f, plan);
  DL_TRY(cuda::Driver * drv, cuda::Driver::get());

  std::unique_ptr<CudaExecutable> ex(new CudaExecutable());
  ex->impl_ = std::make_unique<Impl>();
  Impl &im = *ex->impl_;
  im.drv = drv;
  im.name = f.name();
  ex->ptx_ = std::move(ptx.ptx);
  DL_TRY(im.module, drv->loadPtx(ex->ptx_));

  std::unordered_map<const Value *, size_t> slotOf;
  auto slotFor = [&](const Value *v) -> Expected<size_t> {
    if (auto it = slotOf.find(v); it != slotOf.end()) return it->second;
    auto it = buffers.slots.find(v);
    if (it == buffers.slots.end())
      return makeError(f.loc, "the buffer plan of '@{}' has no slot for a {} value", f.name(), typeString(v->type()));
    im.slots.push_back(Impl::Slot{it->second, v->type()});
    slotOf[v] = im.slots.size() - 1;
    return im.slots.size() - 1;
  };
  for (size_t i = 0; i < f.numArgs(); ++i) {
    im.argTypes.push_back(f.arg(i)->type());
    im.argNames.push_back(f.arg(i)->name());
  }
  for (size_t k = 0; k < plan.kernels.size(); ++k) {
    const KernelSpec &spec = plan.kernels[k];
    Impl::Step step;
    step.name = spec.name;
    step.launch = ptx.launches[k];
    DL_TRY(step.fn, drv->function(*im.module, step.launch.name));
    for (const Value *v : spec.inputs) {
      DL_TRY(size_t s, slotFor(v));
      step.slots.push_back(s);
    }
    for (const Value *v : spec.outputs) {
      DL_TRY(size_t s, slotFor(v));
      step.slots.push_back(s);
    }
    im.steps.push_back(std::move(step));
  }
  for (const Value *r : f.results()) {
    DL_TRY(size_t s, slotFor(r));
    im.resultSlots.push_back(s);
  }
  im.resultAliases = f.resultAliases();
  im.resultAliases.resize(f.results().size(), -1);

  // Device memory: arguments, direct results, the arena.
  for (const TensorType &t : im.argTypes) {
    DL_TRY(cuda::DevicePtr p, drv->alloc(static_cast<size_t>(t.numBytes())));
    im.argBufs.push_back(p);
    ex->deviceBytes_ += t.numBytes();
  }
  im.resultBufs.assign(f.results().size(), 0);
  for (size_t s = 0; s < im.slots.size(); ++s)
    if (im.slots[s].where.kind == BufferSlot::Kind::Result) {
      const size_t r = static_cast<size_t>(im.slots[s].where.index);
      if (im.resultBufs[r]) continue;
      DL_TRY(im.resultBufs[r], drv->alloc(static_cast<size_t>(im.slots[s].type.numBytes())));
      ex->deviceBytes_ += im.slots[s].type.numBytes();
    }
  DL_TRY(im.arena, drv->alloc(static_cast<size_t>(std::max<int64_t>(buffers.arenaBytes, 1))));
  ex->deviceBytes_ += buffers.arenaBytes;
  for (const Impl::Slot &s : im.slots) {
    const size_t i = static_cast<size_t>(s.where.index);
    switch (s.where.kind) {
    case BufferSlot::Kind::Argument: im.ptrs.push_back(im.argBufs[i]); break;
    case BufferSlot::Kind::Result: im.ptrs.push_back(im.resultBufs[i]); break;
    case BufferSlot::Kind::Arena: im.ptrs.push_back(im.arena + static_cast<cuda::DevicePtr>(s.where.offset)); break;
    }
  }
  return ex;
}

Expected<void> CudaExecutable::setArguments(std::span<const HostTensor> args) {
  Impl &im = *impl_;
  if (args.size() != im.argTypes.size())
    return makeError(Location{}, "'@{}' expects {} argument(s), got {}", im.name, im.argTypes.size(), args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].type() != im.argTypes[i]) {
      std::string what = im.argNames[i].empty() ? fmt::format("argument {}", i + 1)
                                                : fmt::format("argument {} ('%{}')", i + 1, im.argNames[i]);
      return makeError(Location{}, "'@{}' {} expects {}, got {}", im.name, what, im.argTypes[i], args[i].type());
    }
    if (Expected<void> ok = im.drv->copyToDevice(im.argBufs[i], args[i].raw(), static_cast<size_t>(args[i].numBytes()));
        !ok)
      return ok;
  }
  return {};
}

void CudaExecutable::useGraph(bool on) {
  Impl &im = *impl_;
  im.wantGraph = on;
  im.graphNote.clear();
  if (!on) {
    im.drv->destroyGraph(im.graph);
    im.graph = nullptr;
  } else if (!im.drv->hasGraphs()) {
    im.wantGraph = false;
    im.graphNote = "the CUDA driver has no graph entry points (cuStreamBeginCapture_v2, cuGraphInstantiateWithFlags, "
                   "cuGraphLaunch, ...): launching kernel by kernel";
  }
}

bool CudaExecutable::usingGraph() const { return impl_->graph != nullptr; }

std::string CudaExecutable::graphNote() const { return impl_->graphNote; }

Expected<void> CudaExecutable::launch() {
  Impl &im = *impl_;
  im.drv->makeCurrent();
  if (im.wantGraph && !im.graph) {
    // Capture once; a failure falls back to the stream for good.
    Expected<void> ok = im.drv->beginCapture();
    Expected<void> queued = ok ? enqueue() : Expected<void>();
    Expected<void *> g = ok ? im.drv->endCapture() : Expected<void *>(nullptr);
    if (ok && queued && g) {
      im.graph = *g;
    } else {
      if (g && *g) im.drv->destroyGraph(*g);
      im.wantGraph = false;
      const std::string why = !ok ? ok.error().message() : !queued ? queued.error().message() : g.error().message();
      im.graphNote = "cannot capture the step as a CUDA graph (" + why + "): launching kernel by kernel";
    }
  }
  if (im.graph) return im.drv->launchGraph(im.graph);
  return enqueue();
}

Expected<void> CudaExecutable::enqueue() {
  Impl &im = *impl_;
  const int64_t maxBlocks = std::max(1, im.drv->multiprocessors()) * int64_t{32};
  for (Impl::Step &step : im.steps) {
    const GpuLaunch &l = step.launch;
    if (l.iterations == 0) continue;
    im.launchArgs.clear();
    for (size_t s : step.slots) im.launchArgs.push_back(im.ptrs[s]);
    int64_t grid[3] = {l.grid[0], l.grid[1], l.grid[2]};
    if (!l.fixedGrid) grid[0] = std::clamp<int64_t>((l.iterations + l.block - 1) / l.block, 1, maxBlocks);
    if (Expected<void> ok = im.drv->launch(step.fn, grid, l.block, im.launchArgs); !ok)
      return makeError(Location{}, "kernel '{}' of '@{}': {}", step.name, im.name, ok.error().message());
  }
  // Results that alias an argument but were not written into it: copy them there, so
  // the next launch() sees the updated state.
  for (size_t r = 0; r < im.resultSlots.size(); ++r) {
    const int a = im.resultAliases[r];
    if (a < 0) continue;
    const size_t s = im.resultSlots[r];
    if (Expected<void> ok = im.drv->copyOnDevice(im.argBufs[static_cast<size_t>(a)], im.ptrs[s],
                                                 static_cast<size_t>(im.slots[s].type.numBytes()));
        !ok)
      return ok;
  }
  return {};
}

Expected<void> CudaExecutable::synchronize() { return impl_->drv->synchronize(); }

Expected<std::vector<HostTensor>> CudaExecutable::results() {
  std::vector<HostTensor> out;
  for (size_t r = 0; r < impl_->resultSlots.size(); ++r) {
    DL_TRY(HostTensor t, result(r));
    out.push_back(std::move(t));
  }
  return out;
}

Expected<void> CudaExecutable::setArgument(size_t i, const HostTensor &value) {
  Impl &im = *impl_;
  if (i >= im.argTypes.size()) return makeError(Location{}, "'@{}' has no argument {}", im.name, i + 1);
  if (value.type() != im.argTypes[i])
    return makeError(Location{}, "'@{}' argument {} expects {}, got {}", im.name, i + 1, im.argTypes[i], value.type());
  return im.drv->copyToDevice(im.argBufs[i], value.raw(), static_cast<size_t>(value.numBytes()));
}

Expected<HostTensor> CudaExecutable::result(size_t r) {
  Impl &im = *impl_;
  if (r >= im.resultSlots.size()) return makeError(Location{}, "'@{}' has no result {}", im.name, r);
  const size_t s = im.resultSlots[r];
  const int a = im.resultAliases[r];
  HostTensor t(im.slots[s].type);
  const cuda::DevicePtr src = a >= 0 ? im.argBufs[static_cast<size_t>(a)] : im.ptrs[s];
  if (Expected<void> ok = im.drv->copyToHost(t.raw(), src, static_cast<size_t>(t.numBytes())); !ok)
    return ok.takeError();
  return t;
}

Expected<HostTensor> CudaExecutable::argument(size_t i) {
  Impl &im = *impl_;
  if (i >= im.argTypes.size()) return makeError(Location{}, "'@{}' has no argument {}", im.name, i + 1);
  HostTensor t(im.argTypes[i]);
  if (Expected<void> ok = im.drv->copyToHost(t.raw(), im.argBufs[i], static_cast<size_t>(t.numBytes())); !ok)
    return ok.takeError();
  return t;
}

Expected<std::vector<HostTensor>> CudaExecutable::run(std::span<const HostTensor> args) {
  if (Expected<void> ok = setArguments(args); !ok) return ok.takeError();
  if (Expected<void> ok = launch(); !ok) return ok.takeError();
  return results();
}

Expected<std::vector<double>> CudaExecutable::timeLaunches(int reps) {
  Impl &im = *impl_;
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    DL_TRY(void *start, im.drv->recordEvent());
    Expected<void> ok = launch();
    Expected<void *> end = im.drv->recordEvent();
    if (ok && end) {
      Expected<float> t = im.drv->elapsedMs(start, *end);
      if (t) ms.push_back(*t);
      else ok = t.takeError();
    }
    im.drv->destroyEvent(start);
    if (end) im.drv->destroyEvent(*end);
    if (!ok) return ok.takeError();
    if (!end) return end.takeError();
  }
  return ms;
}

}  // namespace dlc
