//===- runtime/cuda_driver.cpp - the CUDA driver API through dlopen ---------===//
//
// The driver's types are opaque handles and int results; the declarations below are
// the documented C signatures of the entry points we call (versioned names such as
// cuMemAlloc_v2 are what cuda.h's macros resolve to).
//
//===----------------------------------------------------------------------===//
#include "runtime/cuda_driver.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

namespace dlc::cuda {

namespace {
using Result = int;
using Handle = void *;
constexpr int kAttrMultiprocessors = 16;  // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
constexpr int kJitErrorLogBuffer = 5;     // CU_JIT_ERROR_LOG_BUFFER
constexpr int kJitErrorLogSize = 6;       // CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES
/// CU_STREAM_DEFAULT: the stream synchronizes with the legacy default stream, on which
/// the synchronous cuMemcpyHtoD runs, so a launch never starts before an upload's DMA
/// has finished.
constexpr unsigned kStreamBlocking = 0;
/// CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: only this thread's unsafe calls (a synchronous
/// copy, a synchronize) are refused while it captures.
constexpr int kCaptureThreadLocal = 1;
}  // namespace

struct Driver::Api {
  void *lib = nullptr;
  Result (*init)(unsigned);
  Result (*deviceGetCount)(int *);
  Result (*deviceGet)(int *, int);
  Result (*deviceGetName)(char *, int, int);
  Result (*deviceGetAttribute)(int *, int, int);
  Result (*primaryCtxRetain)(Handle *, int);
  Result (*ctxSetCurrent)(Handle);
  Result (*streamCreate)(Handle *, unsigned);
  Result (*streamSynchronize)(Handle);
  Result (*memAlloc)(DevicePtr *, size_t);
  Result (*memFree)(DevicePtr);
  Result (*memcpyHtoD)(DevicePtr, const void *, size_t);
  Result (*memcpyDtoH)(void *, DevicePtr, size_t);
  Result (*memcpyDtoDAsync)(DevicePtr, DevicePtr, size_t, Handle);
  Result (*moduleLoadDataEx)(Handle *, const void *, unsigned, int *, void **);
  Result (*moduleUnload)(Handle);
  Result (*moduleGetFunction)(Handle *, Handle, const char *);
  Result (*launchKernel)(Handle, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, Handle, void **,
                         void **);
  Result (*eventCreate)(Handle *, unsigned);
  Result (*eventRecord)(Handle, Handle);
  Result (*eventSynchronize)(Handle);
  Result (*eventElapsedTime)(float *, Handle, Handle);
  Result (*eventDestroy)(Handle);
  // Graphs: optional (hasGraphs()).
  Result (*streamBeginCapture)(Handle, int) = nullptr;
  Result (*streamEndCapture)(Handle, Handle *) = nullptr;
  Result (*graphInstantiate)(Handle *, Handle, unsigned long long) = nullptr;
  Result (*graphLaunch)(Handle, Handle) = nullptr;
  Result (*graphExecDestroy)(Handle) = nullptr;
  Result (*graphDestroy)(Handle) = nullptr;
  Result (*getErrorName)(Result, const char **);
  Result (*getErrorString)(Result, const char **);
};

struct Driver::Module {
  Driver *driver = nullptr;
  Handle handle = nullptr;
  ~Module() {
    if (handle) driver->api_->moduleUnload(handle);
  }
};

Expected<void> Driver::check(int result, const char *what) const {
  if (result == 0) return {};
  const char *name = nullptr, *text = nullptr;
  if (api_->getErrorName) api_->getErrorName(result, &name);
  if (api_->getErrorString) api_->getErrorString(result, &text);
  return makeError(Location{}, "CUDA driver: {} failed: {} ({}{})", what, text ? text : "unknown error", result,
                   name ? std::string(", ") + name : "");
}

Expected<Driver *> Driver::get() {
  static std::mutex mu;
  static Driver *driver = nullptr;
  static std::string failure;
  std::lock_guard<std::mutex> lock(mu);
  if (driver) return driver;
  if (!failure.empty()) return makeError(Location{}, "{}", failure);

  auto fail = [&](std::string msg) -> Expected<Driver *> {
    failure = std::move(msg);
    return makeError(Location{}, "{}", failure);
  };
  const char *env = std::getenv("DLC_CUDA_DRIVER");
  const std::string path = env && *env ? env : "libcuda.so.1";
  void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    return fail(fmt::format("--target=cuda needs an NVIDIA GPU and its driver, but the CUDA driver library '{}' "
                            "cannot be loaded ({}); run on a machine with a GPU, or use --target=cpu",
                            path, why ? why : "unknown reason"));
  }
  auto d = std::unique_ptr<Driver>(new Driver());
  d->api_ = std::make_unique<Api>();
  Api &a = *d->api_;
  a.lib = lib;
  std::string missing;
  auto sym = [&](auto &fn, const char *name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
    if (!fn) missing += (missing.empty() ? "" : ", ") + std::string(name);
  };
  sym(a.getErrorName, "cuGetErrorName");
  sym(a.getErrorString, "cuGetErrorString");
  sym(a.init, "cuInit");
  sym(a.deviceGetCount, "cuDeviceGetCount");
  sym(a.deviceGet, "cuDeviceGet");
  sym(a.deviceGetName, "cuDeviceGetName");
  sym(a.deviceGetAttribute, "cuDeviceGetAttribute");
  sym(a.primaryCtxRetain, "cuDevicePrimaryCtxRetain");
  sym(a.ctxSetCurrent, "cuCtxSetCurrent");
  sym(a.streamCreate, "cuStreamCreate");
  sym(a.streamSynchronize, "cuStreamSynchronize");
  sym(a.memAlloc, "cuMemAlloc_v2");
  sym(a.memFree, "cuMemFree_v2");
  sym(a.memcpyHtoD, "cuMemcpyHtoD_v2");
  sym(a.memcpyDtoH, "cuMemcpyDtoH_v2");
  sym(a.memcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
  sym(a.moduleLoadDataEx, "cuModuleLoadDataEx");
  sym(a.moduleUnload, "cuModuleUnload");
  sym(a.moduleGetFunction, "cuModuleGetFunction");
  sym(a.launchKernel, "cuLaunchKernel");
  sym(a.eventCreate, "cuEventCreate");
  sym(a.eventRecord, "cuEventRecord");
  sym(a.eventSynchronize, "cuEventSynchronize");
  sym(a.eventElapsedTime, "cuEventElapsedTime");
  sym(a.eventDestroy, "cuEventDestroy_v2");
  if (!missing.empty())
    return fail(fmt::format("the CUDA driver '{}' lacks {} (a driver for CUDA 11.8 or newer is needed)", path, missing));
  // Optional: without them every launch goes to the stream.
  std::string noGraphs;
  auto optional = [&](auto &fn, const char *name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
    if (!fn) noGraphs += name;
  };
  optional(a.streamBeginCapture, "cuStreamBeginCapture_v2");
  optional(a.streamEndCapture, "cuStreamEndCapture");
  optional(a.graphInstantiate, "cuGraphInstantiateWithFlags");
  optional(a.graphLaunch, "cuGraphLaunch");
  optional(a.graphExecDestroy, "cuGraphExecDestroy");
  optional(a.graphDestroy, "cuGraphDestroy");
  if (!noGraphs.empty()) a.graphLaunch = nullptr;  // hasGraphs() is false

  if (auto ok = d->check(a.init(0), "cuInit"); !ok)
    return fail(fmt::format("--target=cuda: the CUDA driver cannot start ({}); is there an NVIDIA GPU?",
                            ok.error().message()));
  int count = 0;
  if (auto ok = d->check(a.deviceGetCount(&count), "cuDeviceGetCount"); !ok) return fail(ok.error().message());
  if (count == 0) return fail("--target=cuda: the CUDA driver finds no GPU");
  const char *devEnv = std::getenv("DLC_CUDA_DEVICE");
  const int ordinal = devEnv && *devEnv ? std::atoi(devEnv) : 0;
  if (ordinal < 0 || ordinal >= count)
    return fail(fmt::format("DLC_CUDA_DEVICE={} but there are {} GPU(s)", ordinal, count));
  int dev = 0;
  if (auto ok = d->check(a.deviceGet(&dev, ordinal), "cuDeviceGet"); !ok) return fail(ok.error().message());
  char name[256] = {};
  if (a.deviceGetName(name, sizeof name - 1, dev) == 0) d->deviceName_ = name;
  a.deviceGetAttribute(&d->sms_, kAttrMultiprocessors, dev);
  if (auto ok = d->check(a.primaryCtxRetain(&d->context_, dev), "cuDevicePrimaryCtxRetain"); !ok)
    return fail(ok.error().message());
  if (auto ok = d->check(a.ctxSetCurrent(d->context_), "cuCtxSetCurrent"); !ok) return fail(ok.error().message());
  if (auto ok = d->check(a.streamCreate(&d->stream_, kStreamBlocking), "cuStreamCreate"); !ok)
    return fail(ok.error().message());
  driver = d.release();  // lives until the process exits
  return driver;
}

Expected<DevicePtr> Driver::alloc(size_t bytes) {
  api_->ctxSetCurrent(context_);  // the calling thread may be new
  DevicePtr p = 0;
  if (auto ok = check(api_->memAlloc(&p, bytes == 0 ? 1 : bytes), "cuMemAlloc"); !ok)
    return makeError(Location{}, "cannot allocate {} bytes on the GPU: {}", bytes, ok.error().message());
  return p;
}

void Driver::free(DevicePtr p) {
  if (p) api_->memFree(p);
}

Expected<void> Driver::copyToDevice(DevicePtr dst, const void *src, size_t bytes) {
  api_->ctxSetCurrent(context_);
  if (bytes == 0) return {};
  if (auto ok = check(api_->streamSynchronize(stream_), "cuStreamSynchronize"); !ok) return ok;
  return check(api_->memcpyHtoD(dst, src, bytes), "cuMemcpyHtoD");
}

Expected<void> Driver::copyToHost(void *dst, DevicePtr src, size_t bytes) {
  api_->ctxSetCurrent(context_);
  if (auto ok = check(api_->streamSynchronize(stream_), "cuStreamSynchronize (a kernel failed)"); !ok) return ok;
  if (bytes == 0) return {};
  return check(api_->memcpyDtoH(dst, src, bytes), "cuMemcpyDtoH");
}

Expected<void> Driver::copyOnDevice(DevicePtr dst, DevicePtr src, size_t bytes) {
  if (bytes == 0 || dst == src) return {};
  return check(api_->memcpyDtoDAsync(dst, src, bytes, stream_), "cuMemcpyDtoDAsync");
}

Expected<void> Driver::synchronize() {
  api_->ctxSetCurrent(context_);
  return check(api_->streamSynchronize(stream_), "cuStreamSynchronize (a kernel failed)");
}

Expected<std::shared_ptr<Driver::Module>> Driver::loadPtx(const std::string &ptx) {
  api_->ctxSetCurrent(context_);
  std::string log(16384, '\0');
  int options[] = {kJitErrorLogBuffer, kJitErrorLogSize};
  void *values[] = {log.data(), reinterpret_cast<void *>(log.size())};
  auto m = std::make_shared<Module>();
  m->driver = this;
  if (auto ok = check(api_->moduleLoadDataEx(&m->handle, ptx.c_str(), 2, options, values), "cuModuleLoadDataEx");
      !ok) {
    log.resize(log.find('\0') == std::string::npos ? log.size() : log.find('\0'));
    return makeError(Location{}, "the CUDA driver cannot compile the generated PTX: {}{}", ok.error().message(),
                     log.empty() ? "" : "\n" + log);
  }
  return m;
}

Expected<void *> Driver::function(Module &m, const std::string &name) {
  Handle fn = nullptr;
  if (auto ok = check(api_->moduleGetFunction(&fn, m.handle, name.c_str()), "cuModuleGetFunction"); !ok)
    return makeError(Location{}, "kernel '{}': {}", name, ok.error().message());
  return fn;
}

void Driver::makeCurrent() { api_->ctxSetCurrent(context_); }

Expected<void> Driver::launch(void *fn, const int64_t grid[3], int block, std::vector<DevicePtr> &args) {
  std::vector<void *> params(args.size());
  for (size_t i = 0; i < args.size(); ++i) params[i] = &args[i];
  return check(api_->launchKernel(fn, static_cast<unsigned>(grid[0]), static_cast<unsigned>(grid[1]),
                                  static_cast<unsigned>(grid[2]), static_cast<unsigned>(block), 1, 1, 0, stream_,
                                  params.data(), nullptr),
               "cuLaunchKernel");
}

bool Driver::hasGraphs() const { return api_->graphLaunch != nullptr; }

Expected<void> Driver::beginCapture() {
  if (!hasGraphs()) return makeError(Location{}, "the CUDA driver has no graph entry points");
  api_->ctxSetCurrent(context_);
  return check(api_->streamBeginCapture(stream_, kCaptureThreadLocal), "cuStreamBeginCapture");
}

Expected<void *> Driver::endCapture() {
  Handle graph = nullptr, exec = nullptr;
  if (auto ok = check(api_->streamEndCapture(stream_, &graph), "cuStreamEndCapture"); !ok) return ok.takeError();
  Expected<void> ok = check(api_->graphInstantiate(&exec, graph, 0), "cuGraphInstantiateWithFlags");
  api_->graphDestroy(graph);  // the instantiated graph is independent of it
  if (!ok) return ok.takeError();
  return exec;
}

Expected<void> Driver::launchGraph(void *graph) {
  return check(api_->graphLaunch(graph, stream_), "cuGraphLaunch");
}

void Driver::destroyGraph(void *graph) {
  if (graph && hasGraphs()) api_->graphExecDestroy(graph);
}

Expected<void *> Driver::recordEvent() {
  Handle e = nullptr;
  if (auto ok = check(api_->eventCreate(&e, 0), "cuEventCreate"); !ok) return ok.takeError();
  if (auto ok = check(api_->eventRecord(e, stream_), "cuEventRecord"); !ok) return ok.takeError();
  return e;
}

Expected<float> Driver::elapsedMs(void *start, void *end) {
  if (auto ok = check(api_->eventSynchronize(end), "cuEventSynchronize"); !ok) return ok.takeError();
  float ms = 0;
  if (auto ok = check(api_->eventElapsedTime(&ms, start, end), "cuEventElapsedTime"); !ok) return ok.takeError();
  return ms;
}

void Driver::destroyEvent(void *e) {
  if (e) api_->eventDestroy(e);
}

}  // namespace dlc::cuda
