//===- tools/train_progress.h - what `dlc train` shows and logs --------------===//
//
// Progress: on a terminal, one line redrawn with `\r` (at most ~10 times a second):
//   epoch 2/5 [=========>          ] 210/468  loss 0.3412  48.1 steps/s  ETA 5s
// elsewhere (a pipe, a CI log) plain lines at every tenth of the epoch.
//
// TrainLog writes the curves as CSV, one row per optimizer step and one per epoch:
//   kind,epoch,step,loss,lr,test_loss,test_acc,time_s
//   step,1,1,2.30412269,0.001,,,0.134
//   epoch,1,468,0.512345678,0.001,0.43210987,84.71,21.9
// `step` rows: the loss of that step (before its update) and the lr it used; `epoch`
// rows: the mean training loss of the epoch and the test metrics after it. `step`
// counts optimizer steps over the whole run (1-based); time_s is the wall time since
// the run (or the resumed run) started. Floats use 9 significant digits, which
// round-trips f32 exactly: two runs' logs are equal iff their losses are equal bitwise.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "ir/diagnostic.h"

namespace dlc::tool {

class Progress {
 public:
  /// \p tty: redraw one line; else print plain lines.
  explicit Progress(bool tty) : tty_(tty) {}
  void startEpoch(int64_t epoch, int64_t epochs, int64_t steps);
  /// After step \p done (1-based) of the epoch with running mean loss \p meanLoss.
  void update(int64_t done, double meanLoss);
  /// Ends the progress line (terminal) before other output.
  void finishEpoch();
  double epochSeconds() const;

 private:
  bool tty_;
  int64_t epoch_ = 0, epochs_ = 0, steps_ = 0, nextLine_ = 0;
  std::chrono::steady_clock::time_point start_, lastDraw_;
  bool drawn_ = false;
};

class TrainLog {
 public:
  /// Opens \p path; appends (without a header) when \p append and the file exists.
  static Expected<TrainLog> open(const std::string &path, bool append);
  TrainLog(TrainLog &&o) noexcept : f_(o.f_) { o.f_ = nullptr; }
  TrainLog(const TrainLog &) = delete;
  ~TrainLog();
  void step(int64_t epoch, int64_t step, double loss, double lr, double seconds);
  void epoch(int64_t epoch, int64_t step, double trainLoss, double lr, double testLoss, double testAcc,
             double seconds);

 private:
  explicit TrainLog(std::FILE *f) : f_(f) {}
  std::FILE *f_;
};

}  // namespace dlc::tool
