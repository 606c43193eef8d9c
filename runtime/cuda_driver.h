//===- runtime/cuda_driver.h - the CUDA driver API, opened at run time ------===//
//
// dlc has no build-time CUDA dependency: CudaDriver::open() dlopen()s libcuda.so.1 (or
// $DLC_CUDA_DRIVER) and looks up the few driver entry points the GPU runtime uses. No
// driver, no GPU, or a failing call gives an Error that says which and why; nothing
// aborts. One process-wide driver, context (the device's primary context) and stream (synchronizing with the legacy
// default stream).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ir/diagnostic.h"

namespace dlc::cuda {

using DevicePtr = uint64_t;

/// The process-wide CUDA driver on device 0 (or $DLC_CUDA_DEVICE).
class Driver {
 public:
  /// Opens the driver and creates the context and stream on first use. Errors: no
  /// libcuda.so.1, no device, a driver too old for the entry points.
  static Expected<Driver *> get();

  std::string deviceName() const { return deviceName_; }
  int multiprocessors() const { return sms_; }

  Expected<DevicePtr> alloc(size_t bytes);
  void free(DevicePtr p);
  Expected<void> copyToDevice(DevicePtr dst, const void *src, size_t bytes);
  Expected<void> copyToHost(void *dst, DevicePtr src, size_t bytes);
  /// Asynchronous on the stream.
  Expected<void> copyOnDevice(DevicePtr dst, DevicePtr src, size_t bytes);
  Expected<void> synchronize();

  /// A module loaded from PTX (the driver compiles it for the device).
  struct Module;
  Expected<std::shared_ptr<Module>> loadPtx(const std::string &ptx);
  /// The kernel \p name of \p m.
  Expected<void *> function(Module &m, const std::string &name);
  /// Makes the context current on the calling thread (every call but launch does it).
  void makeCurrent();
  /// Launches \p fn on the stream with pointer arguments \p args.
  Expected<void> launch(void *fn, const int64_t grid[3], int block, std::vector<DevicePtr> &args);

  /// CUDA graphs (optional entry points, CUDA 11.4+): the stream's work between
  /// beginCapture() and endCapture() is recorded, not run, and instantiated as one graph
  /// that launchGraph() replays with a single call. hasGraphs() is false when the driver
  /// lacks any of the entry points (callers then launch on the stream).
  bool hasGraphs() const;
  Expected<void> beginCapture();
  /// Ends the capture; the instantiated graph (destroy it with destroyGraph()).
  Expected<void *> endCapture();
  Expected<void> launchGraph(void *graph);
  void destroyGraph(void *graph);

  /// Events on the stream: elapsed milliseconds between two records.
  Expected<void *> recordEvent();
  Expected<float> elapsedMs(void *start, void *end);
  void destroyEvent(void *e);

  struct Api;

 private:
  Driver() = default;
  Expected<void> check(int result, const char *what) const;

  std::unique_ptr<Api> api_;
  void *context_ = nullptr, *stream_ = nullptr;
  std::string deviceName_;
  int sms_ = 1;
};

}  // namespace dlc::cuda
