//===- bench/gemm_peers.cpp - dlc's GEMM next to OpenBLAS and oneDNN --------===//
//
//   gemm_peers [--shape=M,N,K] [--trans=NN|NT|TN|TT] [--threads=2] [--reps=N] [--json]
//              [--systems=dlc,openblas,onednn[,dlc-floor]]   (a subset: the others print
//              as 1 ms; dlc-floor: run() of a kernel-less function returning an [M,N] argument,
//              the part of dlc's time that is not the GEMM)
//              [--rounds=7] [--budget-ms=100] [--2048]
//              [--cpu-time]   (process CPU time per rep: a tuning aid with --threads=1)
//
// Times C[M,N] = op(A) . op(B) in one process with three systems: dlc (an Executable of
// a one-matmul Function, through its public run()), OpenBLAS cblas_sgemm and oneDNN's
// matmul primitive. Without --shape it runs W1's eight GEMM shapes and 1024^3 (and
// 2048^3 with --2048; BENCHMARKS.md). The systems are interleaved: per shape, `rounds`
// rounds, in each of which every system runs its reps for --budget-ms (at least --reps,
// after 3 warm-up reps), one system after the other with a pause in between (so that the
// thread pools never compete for the two cores: OpenBLAS's threads spin ~0.1 s after a
// call). Ratios are per round (peer's round median / dlc's round median: > 1 means dlc is
// faster), printed as min / median over the rounds, so that load that changes during a
// run on a shared machine cancels out. Times: min over all reps / median of the round
// medians, GFLOP/s at that median. dlc's time includes run()'s input checks and its copy
// of C into a returned tensor (glibc is told to keep freed blocks). --json prints one
// object per system per shape: {"workload":"gemm","system":...,"shape":"M,N,K",
// "trans":...,"threads":...,"median_ms":...,"min_ms":...,"gflops":...,"rounds":...,
// "ratio_min":...,"ratio_median":...} (ratios: that system vs dlc).
//
// Not a test: timings never go into the test suite.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <malloc.h>

#include <cblas.h>
#include <omp.h>

#include <dnnl.hpp>

#include "ir/builder.h"
#include "ir/host_tensor.h"
#include "ir/ir.h"
#include "runtime/executable.h"

namespace {

struct Shape3 {
  int64_t m, n, k;
  std::string trans;  // "NN", "NT", "TN", "TT"
  bool ta() const { return trans[0] == 'T'; }
  bool tb() const { return trans[1] == 'T'; }
  std::string str() const { return std::to_string(m) + "," + std::to_string(n) + "," + std::to_string(k); }
  double flops() const { return 2.0 * double(m) * double(n) * double(k); }
};

struct Timing {
  double minMs = 0, medianMs = 0;
};

using Clock = std::chrono::steady_clock;

/// --cpu-time: time reps by the process's CPU time instead of the wall clock (with
/// --threads=1 this is the compute time even on a loaded machine; a tuning aid).
bool gCpuTime = false;

double nowMs() {
  if (gCpuTime) {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
  }
  return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
}

/// Seconds each system gets per shape and round (at least minReps reps).
double gBudgetS = 0.1;

/// Runs \p fn: warm-up, then reps until at least \p minReps and gBudgetS.
template <class F> Timing timeIt(F &&fn, int minReps) {
  for (int i = 0; i < 3; ++i) fn();
  std::vector<double> ms;
  const auto start = Clock::now();
  while (static_cast<int>(ms.size()) < minReps ||
         (std::chrono::duration<double>(Clock::now() - start).count() < gBudgetS && ms.size() < 2000)) {
    const double t0 = nowMs();
    fn();
    ms.push_back(nowMs() - t0);
  }
  std::sort(ms.begin(), ms.end());
  return {ms.front(), ms[ms.size() / 2]};
}

std::vector<float> randomData(size_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v) x = u(g);
  return v;
}

/// The operands as stored: A is [M,K] or [K,M] (T), B is [K,N] or [N,K] (T).
struct Operands {
  std::vector<float> a, b;
  std::vector<int64_t> aDims, bDims;
};

Operands makeOperands(const Shape3 &s) {
  Operands o;
  o.aDims = s.ta() ? std::vector<int64_t>{s.k, s.m} : std::vector<int64_t>{s.m, s.k};
  o.bDims = s.tb() ? std::vector<int64_t>{s.n, s.k} : std::vector<int64_t>{s.k, s.n};
  o.a = randomData(static_cast<size_t>(s.m * s.k), 1);
  o.b = randomData(static_cast<size_t>(s.k * s.n), 2);
  return o;
}

using RepFn = std::function<void()>;

RepFn makeDlc(const Shape3 &s, int threads) {
  using namespace dlc;
  Operands o = makeOperands(s);
  Function f("gemm");
  Value *a = f.addArg(TensorType{DType::F32, o.aDims}, "a");
  Value *b = f.addArg(TensorType{DType::F32, o.bDims}, "b");
  Builder bld(f);
  f.setResults({bld.matmul(a, b, s.ta(), s.tb())});
  ExecutableOptions opts;
  opts.codegen.threads = threads;
  auto exe = Executable::compile(f, opts);
  if (!exe) {
    std::fprintf(stderr, "gemm_peers: dlc compile failed: %s\n", exe.error().str().c_str());
    std::exit(1);
  }
  auto in = std::make_shared<std::vector<HostTensor>>();
  in->emplace_back(TensorType{DType::F32, o.aDims});
  in->emplace_back(TensorType{DType::F32, o.bDims});
  std::memcpy((*in)[0].raw(), o.a.data(), o.a.size() * 4);
  std::memcpy((*in)[1].raw(), o.b.data(), o.b.size() * 4);
  std::shared_ptr<Executable> e = std::move(*exe);
  return [e, in] {
    auto r = e->run(*in);
    if (!r) std::exit(1);
  };
}

/// The floor of dlc's time: run() of a function with no kernel that returns an [M, N]
/// argument reshaped (input checks, the result tensor's allocation and copy).
RepFn makeDlcFloor(const Shape3 &s, int threads) {
  using namespace dlc;
  Function f("floor");
  Value *c = f.addArg(TensorType{DType::F32, {s.m * s.n}}, "c");
  Builder bld(f);
  f.setResults({bld.reshape(c, {s.m, s.n})});
  ExecutableOptions opts;
  opts.codegen.threads = threads;
  auto exe = Executable::compile(f, opts);
  if (!exe) std::exit(1);
  auto in = std::make_shared<std::vector<HostTensor>>();
  in->emplace_back(TensorType{DType::F32, {s.m * s.n}});
  std::shared_ptr<Executable> e = std::move(*exe);
  return [e, in] {
    auto r = e->run(*in);
    if (!r) std::exit(1);
  };
}

RepFn makeOpenBlas(const Shape3 &s) {
  auto o = std::make_shared<Operands>(makeOperands(s));
  auto c = std::make_shared<std::vector<float>>(static_cast<size_t>(s.m * s.n));
  const int m = int(s.m), n = int(s.n), k = int(s.k);
  const int lda = s.ta() ? m : k, ldb = s.tb() ? k : n;
  const bool ta = s.ta(), tb = s.tb();
  return [=] {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f,
                o->a.data(), std::max(1, lda), o->b.data(), std::max(1, ldb), 0.0f, c->data(), std::max(1, n));
  };
}

RepFn makeOneDnn(const Shape3 &s) {
  using namespace dnnl;
  auto o = std::make_shared<Operands>(makeOperands(s));
  auto c = std::make_shared<std::vector<float>>(static_cast<size_t>(s.m * s.n));
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  using tag = memory::format_tag;
  using dt = memory::data_type;
  memory::desc aMd({s.m, s.k}, dt::f32, s.ta() ? tag::ba : tag::ab);
  memory::desc bMd({s.k, s.n}, dt::f32, s.tb() ? tag::ba : tag::ab);
  memory::desc cMd({s.m, s.n}, dt::f32, tag::ab);
  matmul::primitive_desc pd(matmul::desc(aMd, bMd, cMd), eng);
  matmul prim(pd);
  memory aMem(aMd, eng, o->a.data()), bMem(bMd, eng, o->b.data()), cMem(cMd, eng, c->data());
  return [=]() mutable {
    (void)o;
    (void)c;
    prim.execute(strm, {{DNNL_ARG_SRC, aMem}, {DNNL_ARG_WEIGHTS, bMem}, {DNNL_ARG_DST, cMem}});
    strm.wait();
  };
}

bool parseShape(const char *v, Shape3 &s) {
  long long m, n, k;
  if (std::sscanf(v, "%lld,%lld,%lld", &m, &n, &k) != 3 || m < 1 || n < 1 || k < 1) return false;
  s.m = m;
  s.n = n;
  s.k = k;
  return true;
}

}  // namespace

int main(int argc, char **argv) {
  std::vector<Shape3> shapes;
  Shape3 one{0, 0, 0, "NN"};
  bool haveShape = false, json = false, haveTrans = false, big = false;
  int threads = 2, reps = 20, rounds = 7;
  std::string only = "dlc,openblas,onednn";  // dlc-floor on request
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    if (!std::strncmp(a, "--shape=", 8)) {
      if (!parseShape(a + 8, one)) {
        std::fprintf(stderr, "gemm_peers: --shape wants M,N,K (positive), got '%s'\n", a + 8);
        return 2;
      }
      haveShape = true;
    } else if (!std::strncmp(a, "--trans=", 8)) {
      one.trans = a + 8;
      haveTrans = true;
      if (one.trans != "NN" && one.trans != "NT" && one.trans != "TN" && one.trans != "TT") {
        std::fprintf(stderr, "gemm_peers: --trans wants NN, NT, TN or TT, got '%s'\n", a + 8);
        return 2;
      }
    } else if (!std::strncmp(a, "--threads=", 10)) {
      threads = std::atoi(a + 10);
    } else if (!std::strncmp(a, "--reps=", 7)) {
      reps = std::max(1, std::atoi(a + 7));
    } else if (!std::strncmp(a, "--systems=", 10)) {
      only = a + 10;
    } else if (!std::strncmp(a, "--rounds=", 9)) {
      rounds = std::max(1, std::atoi(a + 9));
    } else if (!std::strncmp(a, "--budget-ms=", 12)) {
      gBudgetS = std::max(1, std::atoi(a + 12)) * 1e-3;
    } else if (!std::strcmp(a, "--cpu-time")) {
      gCpuTime = true;
    } else if (!std::strcmp(a, "--2048")) {
      big = true;
    } else if (!std::strcmp(a, "--json")) {
      json = true;
    } else {
      std::fprintf(stderr,
                   "usage: gemm_peers [--shape=M,N,K] [--trans=NN|NT|TN|TT] [--threads=2] [--reps=N] [--json] "
                   "[--rounds=7] [--budget-ms=100] [--systems=dlc,openblas,onednn,dlc-floor] [--cpu-time]\n");
      return 2;
    }
  }
  if (haveShape) {
    shapes.push_back(one);
  } else {
    shapes = {{128, 512, 784, "NT"}, {128, 512, 512, "NT"}, {128, 10, 512, "NT"}, {128, 512, 10, "NN"},
              {10, 512, 128, "TN"},  {128, 512, 512, "NN"}, {512, 512, 128, "TN"}, {512, 784, 128, "TN"},
              {1024, 1024, 1024, "NN"}};
    if (big) shapes.push_back({2048, 2048, 2048, "NN"});
    if (haveTrans)
      for (Shape3 &s : shapes) s.trans = one.trans;
  }
  if (threads < 1) threads = 1;
  // Executable::run returns fresh result tensors; keep glibc from handing each freed
  // block back to the kernel (mmap + page faults + zeroing on every call), as the
  // peers write into a C they own. BENCHMARKS.md: "glibc malloc kept from returning big
  // blocks". The result copy itself stays in dlc's time.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  openblas_set_num_threads(threads);
  omp_set_num_threads(threads);

  const char *systems[] = {"dlc", "openblas", "onednn", "dlc-floor"};
  auto selected = [&](const char *sys) {
    return std::strstr(("," + only + ",").c_str(), ("," + std::string(sys) + ",").c_str()) != nullptr;
  };
  // Per shape: build every system's rep, then `rounds` rounds; in each round every
  // system runs its reps for gBudgetS (start rotated per round), and after each block a
  // pause lets that system's threads stop spinning (OpenBLAS's spin for ~0.1 s) before
  // the next system's block. Ratios are taken per round (peer round median / dlc round
  // median), so a change of load between rounds cancels out.
  struct Result {
    Timing t;                               // min over all reps, median of round medians
    std::vector<double> roundMedians;
    double ratioMin = 0, ratioMedian = 0;   // peer / dlc, per round
  };
  std::map<std::string, std::vector<Result>> results;
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  for (const Shape3 &s : shapes) {
    std::vector<std::pair<std::string, RepFn>> fns;
    for (const char *sys : systems) {
      if (!selected(sys)) continue;
      if (!std::strcmp(sys, "dlc")) fns.emplace_back(sys, makeDlc(s, threads));
      else if (!std::strcmp(sys, "dlc-floor")) fns.emplace_back(sys, makeDlcFloor(s, threads));
      else if (!std::strcmp(sys, "openblas")) fns.emplace_back(sys, makeOpenBlas(s));
      else fns.emplace_back(sys, makeOneDnn(s));
    }
    std::map<std::string, Result> shapeRes;
    for (int round = 0; round < rounds; ++round)
      for (size_t j = 0; j < fns.size(); ++j) {
        auto &[name, fn] = fns[(j + static_cast<size_t>(round)) % fns.size()];
        const Timing t = timeIt(fn, reps);
        Result &r = shapeRes[name];
        r.t.minMs = r.roundMedians.empty() ? t.minMs : std::min(r.t.minMs, t.minMs);
        r.roundMedians.push_back(t.medianMs);
        std::this_thread::sleep_for(std::chrono::milliseconds(name == "openblas" ? 150 : 20));
      }
    for (const char *sys : systems) {
      Result r = shapeRes.count(sys) ? shapeRes[sys] : Result{Timing{1, 1}, {}, 0, 0};
      if (!r.roundMedians.empty()) {
        r.t.medianMs = median(r.roundMedians);
        if (shapeRes.count("dlc")) {
          std::vector<double> ratios;
          for (size_t i = 0; i < r.roundMedians.size(); ++i)
            ratios.push_back(r.roundMedians[i] / shapeRes["dlc"].roundMedians[i]);
          r.ratioMin = *std::min_element(ratios.begin(), ratios.end());
          r.ratioMedian = median(ratios);
        }
      }
      results[sys].push_back(r);
    }
  }

  if (json) {
    for (size_t i = 0; i < shapes.size(); ++i)
      for (const char *sys : systems) {
        if (!selected(sys)) continue;
        const Result &r = results[sys][i];
        std::printf("{\"workload\":\"gemm\",\"system\":\"%s\",\"shape\":\"%s\",\"trans\":\"%s\",\"threads\":%d,"
                    "\"median_ms\":%.5f,\"min_ms\":%.5f,\"gflops\":%.2f,\"rounds\":%d,\"ratio_min\":%.3f,"
                    "\"ratio_median\":%.3f}\n",
                    sys, shapes[i].str().c_str(), shapes[i].trans.c_str(), threads, r.t.medianMs, r.t.minMs,
                    shapes[i].flops() / (r.t.medianMs * 1e6), rounds, r.ratioMin, r.ratioMedian);
      }
    return 0;
  }
  std::printf("gemm, %d threads, %d rounds; per system: min / median ms (median of round medians), GFLOP/s at the "
              "median; vs X: X's round median / dlc's round median, min and median over rounds (> 1: dlc faster)\n",
              threads, rounds);
  std::printf("%-16s %-3s | %-25s | %-25s | %-25s | %-13s %-13s\n", "M,N,K", "op", "dlc", "OpenBLAS", "oneDNN",
              "vs OBLAS", "vs oneDNN");
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Shape3 &s = shapes[i];
    auto cell = [&](const char *sys) {
      const Timing &t = results[sys][i].t;
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.4f / %.4f %6.1f", t.minMs, t.medianMs, s.flops() / (t.medianMs * 1e6));
      return std::string(buf);
    };
    auto ratio = [&](const char *sys) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.2f / %.2f", results[sys][i].ratioMin, results[sys][i].ratioMedian);
      return std::string(buf);
    };
    std::printf("%-16s %-3s | %-25s | %-25s | %-25s | %-13s %-13s", s.str().c_str(), s.trans.c_str(),
                cell("dlc").c_str(), cell("openblas").c_str(), cell("onednn").c_str(), ratio("openblas").c_str(),
                ratio("onednn").c_str());
    if (selected("dlc-floor"))
      std::printf(" | run() floor %.4f / %.4f", results["dlc-floor"][i].t.minMs, results["dlc-floor"][i].t.medianMs);
    std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
}
