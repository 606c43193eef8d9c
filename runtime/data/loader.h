//===- runtime/data/loader.h - mini-batches over an in-memory dataset ------===//
//
// BatchLoader walks (inputs [N, ...], labels [N, ...]) in mini-batches of a fixed size,
// optionally shuffled, epoch by epoch, copying rows into caller-provided HostTensors so
// that a training loop allocates nothing per batch.
//
// Shuffling is deterministic across platforms: the permutation of epoch e is a
// Fisher-Yates shuffle driven by our own SplitMix64 stream seeded from (seed, e), with
// unbiased bounded draws. std::shuffle and the std distributions are avoided because
// their results differ between standard libraries.
//
// The last partial batch (N not a multiple of the batch size):
//  - Drop (the default, for training): the remainder is skipped. A compiled training
//    step has static shapes, and a short batch would also change the loss scale. With
//    shuffling, different samples are dropped in different epochs.
//  - Pad (for evaluation): the remainder is returned as a full-size batch whose tail
//    rows are zero (inputs and labels alike; note label 0 is a real class), and next()
//    reports the number of valid rows so that accuracy counts only real samples.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/host_tensor.h"

namespace dlc::data {

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, well-mixed 64-bit generator whose
/// output is fully specified, so sequences are the same on every platform.
class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  /// A uniform draw from [0, n), n > 0, without modulo bias (rejection sampling).
  uint64_t below(uint64_t n);

private:
  uint64_t state_;
};

/// A uniformly random permutation of 0..n-1 (Fisher-Yates), fixed by \p seed.
std::vector<int64_t> shuffledIndices(int64_t n, uint64_t seed);

/// What to do with the last N % batchSize samples of an epoch.
enum class LastBatch : uint8_t { Drop, Pad };

struct LoaderOptions {
  int64_t batchSize = 64;
  bool shuffle = true;
  uint64_t seed = 0;
  LastBatch lastBatch = LastBatch::Drop;
};

/// Iterates over mini-batches of (inputs, labels). The loader keeps pointers to the two
/// tensors, which must outlive it and stay unchanged while it is used.
///
///   DL_TRY(BatchLoader loader, BatchLoader::create(ds.images, ds.labels, opts));
///   HostTensor x = loader.makeInputBatch(), y = loader.makeLabelBatch();
///   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
///     loader.startEpoch(epoch);
///     while (int64_t valid = loader.next(x, y)) train(x, y, valid);
///   }
class BatchLoader {
public:
  /// Fails when the leading dimensions differ, a tensor is a scalar or batchSize < 1.
  static Expected<BatchLoader> create(const HostTensor &inputs, const HostTensor &labels,
                                      const LoaderOptions &opts);

  /// Rewinds to the start of epoch \p epoch and fixes its order. The constructor starts
  /// epoch 0. Calling it twice with the same epoch gives the same order.
  void startEpoch(int64_t epoch);
  int64_t epoch() const { return epoch_; }

  /// Copies the next batch into \p x and \p y, which must have the types of
  /// makeInputBatch() and makeLabelBatch() (checked: a mismatch is a bug in the caller).
  /// Returns the number of valid rows: batchSize, fewer for a padded last batch, and 0
  /// once the epoch is exhausted (x and y are then left unchanged).
  int64_t next(HostTensor &x, HostTensor &y);

  /// Zero tensors of the batch types: [batchSize, ...] with the source dtypes.
  HostTensor makeInputBatch() const { return HostTensor(inputBatchType_); }
  HostTensor makeLabelBatch() const { return HostTensor(labelBatchType_); }
  const TensorType &inputBatchType() const { return inputBatchType_; }
  const TensorType &labelBatchType() const { return labelBatchType_; }

  /// Samples in the dataset.
  int64_t size() const { return n_; }
  int64_t batchSize() const { return opts_.batchSize; }
  /// Batches next() returns per epoch under the last-batch policy.
  int64_t batchesPerEpoch() const;
  /// The order of the current epoch: sample indices, each exactly once.
  const std::vector<int64_t> &order() const { return order_; }

private:
  BatchLoader(const HostTensor &inputs, const HostTensor &labels, const LoaderOptions &opts);

  const HostTensor *inputs_;
  const HostTensor *labels_;
  LoaderOptions opts_;
  int64_t n_;
  int64_t inputRowBytes_, labelRowBytes_;
  TensorType inputBatchType_, labelBatchType_;
  int64_t epoch_ = 0;
  int64_t cursor_ = 0;
  std::vector<int64_t> order_;
};

}  // namespace dlc::data
