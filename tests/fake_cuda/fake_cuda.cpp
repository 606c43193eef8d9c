//===- tests/fake_cuda/fake_cuda.cpp - a stand-in CUDA driver for tests -----===//
//
// libdlc_fake_cuda.so exports the driver entry points runtime/cuda_driver.cpp looks up,
// so that the GPU runtime's plumbing runs on a machine without a GPU
// (DLC_CUDA_DRIVER=.../libdlc_fake_cuda.so): "device" memory is host memory (zeroed),
// copies check that they stay inside one allocation, a module must be PTX text and a
// function must be one of its `.entry`s, and a launch checks that it passes exactly the
// entry's parameters, each pointing into an allocation. Kernels do not run, so results
// are zeros. With FAKE_CUDA_LOG=1 every launch is printed to stderr (name, grid, block,
// parameters); FAKE_CUDA_FAIL_LOAD=1 makes the module load fail with a log message.
// Any violation prints `fake-cuda: error: ...` and fails the call.
//
// CUDA graphs by stream capture: between cuStreamBeginCapture_v2 and cuStreamEndCapture
// launches and device copies are checked and recorded, not run, and a synchronous call
// (cuStreamSynchronize, cuMemcpyHtoD/DtoH) fails as the real driver's capture does;
// cuGraphLaunch replays the recorded nodes (checks again, runs the copies; with
// FAKE_CUDA_LOG it prints `graph launch of N nodes` and each launch).
// FAKE_CUDA_NO_GRAPHS=1 makes the graph entry points fail as if the driver had none
// usable (the runtime must fall back to stream launches).
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace {

std::mutex mu;
std::map<uint64_t, size_t> allocations;  // base -> bytes
std::string ptx;

constexpr int kInvalidValue = 1, kNotFound = 500, kInvalidPtx = 218;

bool env(const char *name) {
  const char *v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

int fail(int code, const std::string &msg) {
  std::fprintf(stderr, "fake-cuda: error: %s\n", msg.c_str());
  return code;
}

/// True when [p, p + n) lies inside one allocation.
bool inside(uint64_t p, size_t n) {
  auto it = allocations.upper_bound(p);
  if (it == allocations.begin()) return false;
  --it;
  return p >= it->first && p + n <= it->first + it->second;
}

/// Parameters of `.entry name(` in the module: the count of `name_param_` declarations.
int entryParams(const std::string &name) {
  const std::string head = ".entry " + name + "(";
  const size_t at = ptx.find(head);
  if (at == std::string::npos) return -1;
  const size_t close = ptx.find(')', at);
  int n = 0;
  for (size_t p = ptx.find(name + "_param_", at); p != std::string::npos && p < close;
       p = ptx.find(name + "_param_", p + 1))
    ++n;
  return n;
}

struct Function {
  std::string name;
  int params;
};
std::deque<Function> functions;  // CUfunction handles point here (stays reachable: no leak reports)

/// A recorded launch or device copy.
struct GraphNode {
  const Function *fn = nullptr;  // null: a copy
  unsigned grid[3] = {1, 1, 1}, block = 1;
  std::vector<uint64_t> params;
  uint64_t dst = 0, src = 0;
  size_t bytes = 0;
};
using Graph = std::vector<GraphNode>;
bool capturing = false;
Graph captured;
std::deque<Graph> graphs;  // CUgraph and CUgraphExec handles point here
constexpr int kCaptureUnsupported = 900, kCaptureInvalidated = 901;

/// Checks a launch (and prints it with FAKE_CUDA_LOG).
int checkLaunch(const Function &fn, const unsigned grid[3], unsigned block, const std::vector<uint64_t> &params,
                const char *how) {
  if (grid[0] == 0 || grid[1] == 0 || grid[2] == 0 || block == 0 || block > 1024)
    return fail(kInvalidValue, "bad launch geometry of " + fn.name);
  std::string args;
  for (int i = 0; i < fn.params; ++i) {
    if (!inside(params[static_cast<size_t>(i)], 1))
      return fail(kInvalidValue, fn.name + ": parameter " + std::to_string(i) + " is no device address");
    args += i ? ",ok" : "ok";
  }
  if (env("FAKE_CUDA_LOG"))
    std::fprintf(stderr, "fake-cuda: %s %s grid %ux%ux%u block %u params %d (%s)\n", how, fn.name.c_str(), grid[0],
                 grid[1], grid[2], block, fn.params, args.c_str());
  return 0;
}

int copyOnDevice(uint64_t dst, uint64_t src, size_t n) {
  if (!inside(dst, n) || !inside(src, n))
    return fail(kInvalidValue, "cuMemcpyDtoD of " + std::to_string(n) + " bytes out of bounds");
  std::memmove(reinterpret_cast<void *>(dst), reinterpret_cast<const void *>(src), n);
  return 0;
}

/// A synchronous call while the stream captures: the real driver refuses it.
int refuseWhileCapturing(const char *what) {
  if (!capturing) return 0;
  return fail(kCaptureUnsupported, std::string(what) + " while the stream is being captured");
}

}  // namespace

extern "C" {

int cuGetErrorName(int e, const char **s) {
  *s = e == 0 ? "CUDA_SUCCESS" : "CUDA_ERROR_FAKE";
  return 0;
}
int cuGetErrorString(int e, const char **s) {
  *s = e == 0 ? "no error" : "fake driver error";
  return 0;
}
int cuInit(unsigned) { return 0; }
int cuDeviceGetCount(int *n) {
  *n = 1;
  return 0;
}
int cuDeviceGet(int *d, int) {
  *d = 0;
  return 0;
}
int cuDeviceGetName(char *name, int len, int) {
  std::snprintf(name, static_cast<size_t>(len), "dlc fake CUDA device");
  return 0;
}
int cuDeviceGetAttribute(int *v, int, int) {
  *v = 4;
  return 0;
}
int cuDevicePrimaryCtxRetain(void **ctx, int) {
  static int context;
  *ctx = &context;
  return 0;
}
int cuCtxSetCurrent(void *) { return 0; }
int cuStreamCreate(void **s, unsigned) {
  static int stream;
  *s = &stream;
  return 0;
}
int cuStreamSynchronize(void *) {
  std::lock_guard<std::mutex> lock(mu);
  return refuseWhileCapturing("cuStreamSynchronize");
}

int cuMemAlloc_v2(uint64_t *p, size_t bytes) {
  std::lock_guard<std::mutex> lock(mu);
  void *m = std::calloc(bytes, 1);
  if (!m) return fail(2, "out of memory");
  *p = reinterpret_cast<uint64_t>(m);
  allocations[*p] = bytes;
  return 0;
}
int cuMemFree_v2(uint64_t p) {
  std::lock_guard<std::mutex> lock(mu);
  if (!allocations.erase(p)) return fail(kInvalidValue, "cuMemFree of an address that is no allocation");
  std::free(reinterpret_cast<void *>(p));
  return 0;
}
int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t n) {
  std::lock_guard<std::mutex> lock(mu);
  if (int e = refuseWhileCapturing("cuMemcpyHtoD")) return e;
  if (!inside(dst, n)) return fail(kInvalidValue, "cuMemcpyHtoD of " + std::to_string(n) + " bytes out of bounds");
  std::memcpy(reinterpret_cast<void *>(dst), src, n);
  return 0;
}
int cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t n) {
  std::lock_guard<std::mutex> lock(mu);
  if (int e = refuseWhileCapturing("cuMemcpyDtoH")) return e;
  if (!inside(src, n)) return fail(kInvalidValue, "cuMemcpyDtoH of " + std::to_string(n) + " bytes out of bounds");
  std::memcpy(dst, reinterpret_cast<const void *>(src), n);
  return 0;
}
int cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t n, void *) {
  std::lock_guard<std::mutex> lock(mu);
  if (capturing) {
    if (!inside(dst, n) || !inside(src, n))
      return fail(kInvalidValue, "cuMemcpyDtoD of " + std::to_string(n) + " bytes out of bounds");
    GraphNode c;
    c.dst = dst;
    c.src = src;
    c.bytes = n;
    captured.push_back(c);
    return 0;
  }
  return copyOnDevice(dst, src, n);
}

int cuModuleLoadDataEx(void **m, const void *image, unsigned nopts, int *opts, void **values) {
  std::lock_guard<std::mutex> lock(mu);
  const char *text = static_cast<const char *>(image);
  if (env("FAKE_CUDA_FAIL_LOAD") || !std::strstr(text, ".version") || !std::strstr(text, ".target sm_")) {
    for (unsigned i = 0; i + 1 < nopts; ++i)
      if (opts[i] == 5 && opts[i + 1] == 6)  // error log buffer, its size
        std::snprintf(static_cast<char *>(values[i]), reinterpret_cast<size_t>(values[i + 1]),
                      "fake ptxas: the module was rejected");
    return kInvalidPtx;
  }
  ptx = text;
  static int module;
  *m = &module;
  return 0;
}
int cuModuleUnload(void *) { return 0; }
int cuModuleGetFunction(void **f, void *, const char *name) {
  std::lock_guard<std::mutex> lock(mu);
  const int params = entryParams(name);
  if (params < 0) return fail(kNotFound, std::string("no .entry ") + name + " in the module");
  functions.push_back(Function{name, params});
  *f = &functions.back();
  return 0;
}
int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned,
                   void *, void **params, void **) {
  std::lock_guard<std::mutex> lock(mu);
  const Function &fn = *static_cast<Function *>(f);
  if (by * bz != 1) return fail(kInvalidValue, "dlc launches 1-d blocks only: " + fn.name);
  GraphNode node;
  node.fn = &fn;
  node.grid[0] = gx;
  node.grid[1] = gy;
  node.grid[2] = gz;
  node.block = bx;
  for (int i = 0; i < fn.params; ++i) node.params.push_back(*static_cast<uint64_t *>(params[i]));
  if (int e = checkLaunch(fn, node.grid, bx, node.params, capturing ? "capture" : "launch")) return e;
  if (capturing) captured.push_back(std::move(node));
  return 0;
}

int cuStreamBeginCapture_v2(void *, int mode) {
  std::lock_guard<std::mutex> lock(mu);
  if (env("FAKE_CUDA_NO_GRAPHS")) return fail(kCaptureUnsupported, "stream capture is not supported (FAKE_CUDA_NO_GRAPHS)");
  if (capturing) return fail(kInvalidValue, "cuStreamBeginCapture while capturing");
  if (mode < 0 || mode > 2) return fail(kInvalidValue, "bad capture mode");
  capturing = true;
  captured.clear();
  return 0;
}
int cuStreamEndCapture(void *, void **graph) {
  std::lock_guard<std::mutex> lock(mu);
  if (!capturing) return fail(kCaptureInvalidated, "cuStreamEndCapture without a capture");
  capturing = false;
  graphs.push_back(std::move(captured));
  captured.clear();
  *graph = &graphs.back();
  return 0;
}
int cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long) {
  std::lock_guard<std::mutex> lock(mu);
  graphs.push_back(*static_cast<Graph *>(graph));
  *exec = &graphs.back();
  return 0;
}
int cuGraphLaunch(void *exec, void *) {
  std::lock_guard<std::mutex> lock(mu);
  if (int e = refuseWhileCapturing("cuGraphLaunch")) return e;
  const Graph &g = *static_cast<Graph *>(exec);
  if (env("FAKE_CUDA_LOG")) std::fprintf(stderr, "fake-cuda: graph launch of %zu nodes\n", g.size());
  for (const GraphNode &n : g) {
    if (int e = n.fn ? checkLaunch(*n.fn, n.grid, n.block, n.params, "graph node") : copyOnDevice(n.dst, n.src, n.bytes))
      return e;
  }
  return 0;
}
int cuGraphExecDestroy(void *exec) {
  static_cast<Graph *>(exec)->clear();
  return 0;
}
int cuGraphDestroy(void *graph) {
  static_cast<Graph *>(graph)->clear();
  return 0;
}
int cuEventCreate(void **e, unsigned) {
  *e = new int(0);
  return 0;
}
int cuEventRecord(void *, void *) { return 0; }
int cuEventSynchronize(void *) { return 0; }
int cuEventElapsedTime(float *ms, void *, void *) {
  *ms = 1.0f;
  return 0;
}
int cuEventDestroy_v2(void *e) {
  delete static_cast<int *>(e);
  return 0;
}

}  // extern "C"
