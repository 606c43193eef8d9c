//===- tools/train_progress.cpp - progress bar and CSV log of `dlc train` ----===//
#include "tools/train_progress.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace dlc::tool {

namespace {
double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

void Progress::startEpoch(int64_t epoch, int64_t epochs, int64_t steps) {
  epoch_ = epoch;
  epochs_ = epochs;
  steps_ = std::max<int64_t>(steps, 1);
  nextLine_ = std::max<int64_t>(steps_ / 10, 1);
  start_ = std::chrono::steady_clock::now();
  drawn_ = false;
}

double Progress::epochSeconds() const { return since(start_); }

void Progress::update(int64_t done, double meanLoss) {
  auto now = std::chrono::steady_clock::now();
  bool last = done >= steps_;
  if (tty_) {
    if (drawn_ && !last && std::chrono::duration<double>(now - lastDraw_).count() < 0.1) return;
  } else if (done % nextLine_ != 0 && !last) {
    return;
  }
  lastDraw_ = now;
  double el = since(start_), rate = el > 0 ? done / el : 0, eta = rate > 0 ? (steps_ - done) / rate : 0;
  constexpr int kWidth = 30;
  int filled = static_cast<int>(kWidth * std::min(done, steps_) / steps_);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  std::printf("%sepoch %lld/%lld [%s] %lld/%lld  loss %.4f  %.1f steps/s  ETA %.0fs%s", tty_ ? "\r" : "",
              (long long)epoch_ + 1, (long long)epochs_, bar.c_str(), (long long)done, (long long)steps_, meanLoss,
              rate, eta, tty_ ? "\x1b[K" : "\n");
  std::fflush(stdout);
  drawn_ = true;
}

void Progress::finishEpoch() {
  if (tty_ && drawn_) std::printf("\n");
  drawn_ = false;
}

Expected<TrainLog> TrainLog::open(const std::string &path, bool append) {
  struct stat st;
  bool exists = ::stat(path.c_str(), &st) == 0 && st.st_size > 0;
  std::FILE *f = std::fopen(path.c_str(), append ? "a" : "w");
  if (!f) return makeError({}, "cannot write the log '{}': {}", path, std::strerror(errno));
  if (!(append && exists)) std::fprintf(f, "kind,epoch,step,loss,lr,test_loss,test_acc,time_s\n");
  std::fflush(f);
  return TrainLog(f);
}

TrainLog::~TrainLog() {
  if (f_) std::fclose(f_);
}

void TrainLog::step(int64_t epoch, int64_t step, double loss, double lr, double seconds) {
  std::fprintf(f_, "step,%lld,%lld,%.9g,%.9g,,,%.3f\n", (long long)epoch, (long long)step, loss, lr, seconds);
}

void TrainLog::epoch(int64_t epoch, int64_t step, double trainLoss, double lr, double testLoss, double testAcc,
                     double seconds) {
  std::fprintf(f_, "epoch,%lld,%lld,%.9g,%.9g,%.9g,%.4f,%.3f\n", (long long)epoch, (long long)step, trainLoss, lr,
               testLoss, testAcc, seconds);
  std::fflush(f_);
}

}  // namespace dlc::tool
