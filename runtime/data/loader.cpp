//===- runtime/data/loader.cpp - mini-batches over an in-memory dataset ----===//
#include "runtime/data/loader.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace dlc::data {

/// SplitMix64's output function: a bijective 64-bit mixer.
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::next() {
  state_ += 0x9E3779B97F4A7C15ull;
  return mix64(state_);
}

uint64_t SplitMix64::below(uint64_t n) {
  DL_ASSERT(n > 0, "below(0)");
  // Reject the lowest 2^64 mod n values so that every residue is equally likely.
  uint64_t threshold = (0 - n) % n;
  for (;;) {
    uint64_t r = next();
    if (r >= threshold) return r % n;
  }
}

std::vector<int64_t> shuffledIndices(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  SplitMix64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i) + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

/// Bytes per leading-dimension row of \p t (its size over its first extent).
static int64_t rowBytes(const HostTensor &t) { return t.shape()[0] == 0 ? 0 : t.numBytes() / t.shape()[0]; }

static TensorType batchType(const HostTensor &t, int64_t batch) {
  Shape s = t.shape();
  s[0] = batch;
  return {t.dtype(), std::move(s)};
}

Expected<BatchLoader> BatchLoader::create(const HostTensor &inputs, const HostTensor &labels,
                                          const LoaderOptions &opts) {
  if (opts.batchSize < 1) return makeError({}, "batch size must be positive, got {}", opts.batchSize);
  if (inputs.shape().empty() || labels.shape().empty())
    return makeError({}, "BatchLoader needs inputs and labels with a leading sample dimension, got {} and {}",
                     typeString(inputs.type()), typeString(labels.type()));
  if (inputs.shape()[0] != labels.shape()[0])
    return makeError({}, "BatchLoader: {} inputs but {} labels ({} vs {})", inputs.shape()[0],
                     labels.shape()[0], typeString(inputs.type()), typeString(labels.type()));
  return BatchLoader(inputs, labels, opts);
}

BatchLoader::BatchLoader(const HostTensor &inputs, const HostTensor &labels, const LoaderOptions &opts)
    : inputs_(&inputs), labels_(&labels), opts_(opts), n_(inputs.shape()[0]),
      inputRowBytes_(rowBytes(inputs)), labelRowBytes_(rowBytes(labels)),
      inputBatchType_(batchType(inputs, opts.batchSize)), labelBatchType_(batchType(labels, opts.batchSize)) {
  startEpoch(0);
}

void BatchLoader::startEpoch(int64_t epoch) {
  epoch_ = epoch;
  cursor_ = 0;
  if (opts_.shuffle) {
    // Independent, well-mixed streams per (seed, epoch).
    uint64_t epochSeed = mix64(opts_.seed ^ mix64(static_cast<uint64_t>(epoch) + 0x632BE59BD9B4E019ull));
    order_ = shuffledIndices(n_, epochSeed);
  } else if (static_cast<int64_t>(order_.size()) != n_) {
    order_.resize(static_cast<size_t>(n_));
    std::iota(order_.begin(), order_.end(), int64_t{0});
  }
}

int64_t BatchLoader::batchesPerEpoch() const {
  int64_t b = opts_.batchSize;
  return opts_.lastBatch == LastBatch::Drop ? n_ / b : (n_ + b - 1) / b;
}

int64_t BatchLoader::next(HostTensor &x, HostTensor &y) {
  DL_ASSERT(x.type() == inputBatchType_, "BatchLoader::next: input buffer has the wrong type");
  DL_ASSERT(y.type() == labelBatchType_, "BatchLoader::next: label buffer has the wrong type");
  int64_t b = opts_.batchSize;
  int64_t remaining = n_ - cursor_;
  if (remaining <= 0) return 0;
  if (remaining < b && opts_.lastBatch == LastBatch::Drop) {
    cursor_ = n_;
    return 0;
  }
  int64_t valid = std::min(b, remaining);
  const std::byte *xs = inputs_->raw();
  const std::byte *ys = labels_->raw();
  std::byte *xd = x.raw();
  std::byte *yd = y.raw();
  // Rows of zero bytes (a zero extent) have null buffers: memcpy must not see them.
  bool copyX = inputRowBytes_ > 0, copyY = labelRowBytes_ > 0;
  for (int64_t r = 0; r < valid; ++r) {
    int64_t s = order_[static_cast<size_t>(cursor_ + r)];
    if (copyX)
      std::memcpy(xd + r * inputRowBytes_, xs + s * inputRowBytes_, static_cast<size_t>(inputRowBytes_));
    if (copyY)
      std::memcpy(yd + r * labelRowBytes_, ys + s * labelRowBytes_, static_cast<size_t>(labelRowBytes_));
  }
  if (valid < b) {  // Pad: zero the tail rows
    if (copyX) std::memset(xd + valid * inputRowBytes_, 0, static_cast<size_t>((b - valid) * inputRowBytes_));
    if (copyY) std::memset(yd + valid * labelRowBytes_, 0, static_cast<size_t>((b - valid) * labelRowBytes_));
  }
  cursor_ += valid;
  return valid;
}

}  // namespace dlc::data
