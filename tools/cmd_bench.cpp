//===- tools/cmd_bench.cpp - `dlc bench`: time the workloads or a .dlc file -===//
//
// `dlc bench --workload=<mlp|cnn|gelu|adam|xent|compile|gemm|probe> [--batch=N]
// [--unfused | --compare=fused,unfused] [--threads=N] [--target=cpu|cuda] [--json]`
// or `dlc bench FILE.dlc [--function=NAME] ...` (contract: ../shared/BENCHMARKS.md,
// docs/bench.md). Every variant is compiled, run once (its outputs kept for the
// fused/unfused difference), warmed up and timed; the report gives min and median,
// kernels, bytes moved, FLOPs, GB/s or GFLOP/s and the floor from the machine's limits,
// measured by the probe in the same run unless --copy-gbps/--peak-gflops give them.
// The measuring itself is bench/ (LLVM-free); this file parses flags and prints.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "bench/probe.h"
#include "bench/runner.h"
#include "runtime/thread_pool.h"
#include "tools/codegen_flags.h"
#include "tools/cuda_tool.h"
#include "tools/gpu_flags.h"
#include "tools/tool_support.h"

namespace dlc::tool {

namespace cl = llvm::cl;

cl::SubCommand benchCommand("bench", "Time a benchmark workload or a .dlc function, fused and unfused");

namespace {
cl::opt<std::string> inputPath(cl::Positional, cl::Optional, cl::desc("[<input .dlc file>]"), cl::sub(benchCommand),
                               cl::cat(dlcCategory()));
cl::opt<std::string> workload("workload", cl::desc("mlp, cnn, gelu, adam, xent, compile, gemm, or probe"),
                              cl::value_desc("name"), cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<std::string> functionName("function", cl::desc("With a file: the function to time (default: the first)"),
                                  cl::value_desc("name"), cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<int64_t> batch("batch", cl::desc("Batch size of mlp (default 128), cnn (64) and compile (128)"),
                       cl::init(0), cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<int64_t> elements("elements", cl::desc("Elements of gelu and adam (default 2^24)"),
                          cl::init(int64_t{1} << 24), cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<bool> unfused("unfused", cl::desc("One kernel per IR op"), cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<std::string> compare("compare", cl::desc("Measure these variants in one run: fused,unfused"),
                             cl::value_desc("variants"), cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<int> threads("threads", cl::desc("Kernel threads (default: one per hardware thread)"), cl::init(0),
                     cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<std::string> target("target", cl::desc("cpu (default) or cuda"), cl::init("cpu"), cl::sub(benchCommand),
                            cl::cat(dlcCategory()));
cl::opt<bool> json("json", cl::desc("One JSON object per measured variant and line"), cl::sub(benchCommand),
                   cl::cat(dlcCategory()));
cl::opt<std::string> shape("shape", cl::desc("gemm: M,N,K (C[M,N] = op(A) op(B))"), cl::init("128,512,784"),
                           cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<std::string> trans("trans", cl::desc("gemm: NN, NT, TN or TT (T: the operand is stored transposed)"),
                           cl::init("NT"), cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<int> reps("reps", cl::desc("Timed runs, at least (default 10)"), cl::init(10), cl::sub(benchCommand),
                  cl::cat(dlcCategory()));
cl::opt<int> warmup("warmup", cl::desc("Untimed runs first (default 2)"), cl::init(2), cl::sub(benchCommand),
                    cl::cat(dlcCategory()));
cl::opt<double> minTime("min-time", cl::desc("Keep timing until this many seconds have passed (default 0.5)"),
                        cl::init(0.5), cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<double> maxTime("max-time", cl::desc("Stop timing after this many seconds (default 10)"), cl::init(10),
                        cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<uint64_t> seed("seed", cl::desc("Seed of the random inputs"), cl::init(0), cl::sub(benchCommand),
                       cl::cat(dlcCategory()));
cl::opt<double> copyGBps("copy-gbps", cl::desc("Copy bandwidth for the floors (default: probe it now)"),
                         cl::init(0), cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<double> peakGflops("peak-gflops", cl::desc("Peak FMA GFLOP/s for the floors (default: probe it now)"),
                           cl::init(0), cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<bool> profile("profile",
                      cl::desc("Time every kernel and print the ones that take the most time, per variant"),
                      cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<int> profileTop("profile-top", cl::desc("Kernels listed by --profile (default 12)"), cl::init(12),
                        cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<bool> keepDenormals("keep-denormals", cl::desc("Keep IEEE denormals (default: flush to zero)"),
                            cl::sub(benchCommand), cl::cat(dlcCategory()));
CodegenFlags codegenFlags(benchCommand);
PlanFlags planFlags(benchCommand);
GpuFlags gpuFlags(benchCommand, /*withTarget=*/false);  // --gpu-arch, --libdevice; --target is above
cl::opt<bool> compareCpu("compare-cpu",
                         cl::desc("--target=cuda: compare the first run's results with the CPU backend's"),
                         cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<bool> cudaGraph("cuda-graph",
                        cl::desc("--target=cuda: replay each timed launch as one CUDA graph when the driver has "
                                 "them (default on)"),
                        cl::init(true), cl::sub(benchCommand), cl::cat(dlcCategory()));
cl::opt<double> tolerance("tolerance",
                          cl::desc("--compare-cpu: allowed max |gpu - cpu| relative to max |cpu| (default 0: bitwise)"),
                          cl::init(0.0), cl::sub(benchCommand), cl::cat(dlcCategory()));

using bench::BenchCase;
using bench::MachineLimits;
using bench::OutputDiff;
using bench::VariantResult;

int fail(const std::string &msg) {
  llvm::errs() << "dlc bench: error: " << msg << "\n";
  return 1;
}

/// An Error as text for "dlc bench: error: ...": without a location the diagnostic
/// would repeat "error: ".
std::string errorText(const Error &e) {
  std::string s = e.str();
  return s.rfind("error: ", 0) == 0 ? s.substr(7) : s;
}

std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<int>(c));
    else out += c;
  }
  return out + "\"";
}

std::string jsonNumber(double x) { return std::isfinite(x) ? fmt::format("{:.6g}", x) : "null"; }

/// The variants to measure, from --compare or --unfused.
std::optional<std::vector<bool>> variantsFromFlags(std::string &error) {
  if (compare.empty()) return std::vector<bool>{!unfused};
  if (unfused) {
    error = "--unfused and --compare exclude each other";
    return std::nullopt;
  }
  std::vector<bool> fuse;
  std::stringstream ss(compare);
  for (std::string v; std::getline(ss, v, ',');) {
    if (v == "fused") fuse.push_back(true);
    else if (v == "unfused") fuse.push_back(false);
    else {
      error = fmt::format("--compare expects a list of fused and unfused, got '{}'", v);
      return std::nullopt;
    }
  }
  if (fuse.empty()) error = "--compare needs at least one variant";
  return fuse.empty() ? std::nullopt : std::optional(fuse);
}

struct Report {
  const BenchCase *c = nullptr;
  std::string file;  ///< the input file, when benchmarking one
  const MachineLimits *limits = nullptr;
};

std::string batchJson(const BenchCase &c) { return c.batch > 0 ? std::to_string(c.batch) : "null"; }

void printJson(const Report &r, const VariantResult &v, const VariantResult *other, const VariantResult *baseline) {
  const BenchCase &c = *r.c;
  const double sec = v.timing.medianMs * 1e-3;
  std::string s = fmt::format(
      "{{\"workload\": {}, \"id\": {}, \"part\": {}, \"variant\": \"{}\", \"batch\": {}, \"median_ms\": {}, "
      "\"min_ms\": {}, \"mean_ms\": {}, \"reps\": {}, \"threads\": {}, \"kernels\": {}, \"bytes_moved\": {}, "
      "\"min_bytes\": {}, \"flops\": {}, \"gflops\": {}, \"gbps\": {}, \"compile_ms\": {}",
      jsonString(c.workload), jsonString(c.id), jsonString(c.part), v.variant, batchJson(c),
      jsonNumber(v.timing.medianMs), jsonNumber(v.timing.minMs), jsonNumber(v.timing.meanMs), v.timing.reps,
      v.threads, v.work.kernels, v.work.bytesMoved, v.work.minBytes, v.work.flops,
      jsonNumber(static_cast<double>(v.work.flops) / sec * 1e-9),
      jsonNumber(static_cast<double>(v.work.minBytes) / sec * 1e-9), jsonNumber(v.compileMs));
  if (r.limits) {
    s += fmt::format(", \"floor_ms\": {}, \"floor_bound\": \"{}\", \"copy_gbps\": {}, \"peak_gflops\": {}",
                     jsonNumber(bench::floorMs(*r.limits, v.work.minBytes, v.work.flops)),
                     bench::floorBound(*r.limits, v.work.minBytes, v.work.flops), jsonNumber(r.limits->copyGBps),
                     jsonNumber(r.limits->peakGflops));
  }
  if (c.workload == "gemm") s += fmt::format(", \"shape\": \"{}\", \"trans\": \"{}\"", std::string(shape), std::string(trans));
  if (!r.file.empty()) s += fmt::format(", \"file\": {}", jsonString(r.file));
  if (baseline) s += fmt::format(", \"speedup\": {}", jsonNumber(baseline->timing.medianMs / v.timing.medianMs));
  if (other) {
    const OutputDiff d = bench::compareOutputs(v.outputs, other->outputs);
    s += fmt::format(", \"max_abs_diff\": {}, \"max_ulp_diff\": {}, \"bitwise_equal\": {}", jsonNumber(d.maxAbs),
                     d.shapesMatch ? std::to_string(d.maxUlp) : "null", d.bitwiseEqual() ? "true" : "false");
  }
  llvm::outs() << s << "}\n";
  llvm::outs().flush();
}

std::string megabytes(int64_t b) { return fmt::format("{:.1f}", static_cast<double>(b) / 1e6); }

void printText(const Report &r, const std::vector<VariantResult> &vs) {
  const BenchCase &c = *r.c;
  std::string head = c.id;
  if (c.batch > 0 && c.id.find(".b") == std::string::npos) head += fmt::format(" (batch {})", c.batch);
  llvm::outs() << head << " - " << vs.front().threads << " thread(s)";
  if (r.limits)
    llvm::outs() << fmt::format(", floors from copy {:.1f} GB/s and peak {:.0f} GFLOP/s", r.limits->copyGBps,
                                r.limits->peakGflops);
  llvm::outs() << "\n";
  llvm::outs() << fmt::format("  {:<8} {:>9} {:>10} {:>5} {:>8} {:>12} {:>9} {:>8} {:>8} {:>9} {:>9} {:>10}\n",
                              "variant", "min ms", "median ms", "reps", "kernels", "moved MB", "GFLOP", "GB/s",
                              "GFLOP/s", "floor ms", "of floor", "compile ms");
  for (const VariantResult &v : vs) {
    const double sec = v.timing.medianMs * 1e-3;
    const double floor = r.limits ? bench::floorMs(*r.limits, v.work.minBytes, v.work.flops) : 0;
    llvm::outs() << fmt::format(
        "  {:<8} {:>9.4g} {:>10.4g} {:>5} {:>8} {:>12} {:>9.4g} {:>8.1f} {:>8.1f} {:>9} {:>9} {:>10.0f}\n", v.variant,
        v.timing.minMs, v.timing.medianMs, v.timing.reps, v.work.kernels, megabytes(v.work.bytesMoved),
        static_cast<double>(v.work.flops) * 1e-9, static_cast<double>(v.work.minBytes) / sec * 1e-9,
        static_cast<double>(v.work.flops) / sec * 1e-9, r.limits ? fmt::format("{:.4g}", floor) : "-",
        r.limits ? fmt::format("{:.1f}%", 100 * floor / v.timing.medianMs) : "-", v.compileMs);
  }
  if (vs.size() >= 2) {
    const VariantResult &a = vs[0], &b = vs[1];
    const OutputDiff d = bench::compareOutputs(a.outputs, b.outputs);
    llvm::outs() << fmt::format("  speed-up of {} over {} (median): {:.2f}x; ", a.variant, b.variant,
                                b.timing.medianMs / a.timing.medianMs);
    if (!d.shapesMatch) llvm::outs() << "outputs differ in shape\n";
    else
      llvm::outs() << fmt::format("outputs: max abs diff {:.3g}, max ULP diff {}{}\n", d.maxAbs, d.maxUlp,
                                  d.bitwiseEqual() ? " (bitwise equal)" : "");
  }
  llvm::outs().flush();
}

/// --profile: the kernels of \p v that took the most time, to stderr with --json (so the
/// JSON lines stay clean), else to stdout.
void printProfile(const Report &r, const VariantResult &v) {
  if (v.profile.empty()) return;
  std::vector<KernelTime> ks = v.profile;
  double total = 0;
  for (const KernelTime &k : ks) total += k.seconds;
  std::stable_sort(ks.begin(), ks.end(), [](const KernelTime &a, const KernelTime &b) { return a.seconds > b.seconds; });
  llvm::raw_ostream &os = json ? llvm::errs() : llvm::outs();
  const int64_t runs = ks.empty() ? 0 : std::max<int64_t>(ks.front().launches, 1);
  os << fmt::format("profile of {} ({}): {} kernels, {:.3f} ms per run in kernels, over {} runs\n", r.c->id,
                    v.variant, ks.size(), total * 1e3 / static_cast<double>(runs), runs);
  os << fmt::format("  {:>10} {:>7}  {}\n", "ms/run", "share", "kernel");
  for (size_t i = 0; i < ks.size() && i < static_cast<size_t>(std::max(profileTop.getValue(), 0)); ++i)
    os << fmt::format("  {:>10.4f} {:>6.1f}%  {}\n", ks[i].seconds * 1e3 / static_cast<double>(runs),
                      total > 0 ? 100 * ks[i].seconds / total : 0.0, ks[i].name);
  os.flush();
}

/// Times every variant of \p c and reports.
int benchCase(const Report &r, const std::vector<bool> &fuse, const ExecutableOptions &exe,
              const bench::RepeatOptions &repeat) {
  std::vector<VariantResult> results;
  for (bool f : fuse) {
    Expected<VariantResult> v = bench::runVariant(*r.c, f, exe, repeat);
    if (!v) return fail(r.c->id + ": " + errorText(v.error()));
    results.push_back(std::move(*v));
  }
  if (json) {
    const VariantResult *unfusedRun = nullptr;
    for (const VariantResult &v : results)
      if (v.variant == "unfused") unfusedRun = &v;
    for (size_t i = 0; i < results.size(); ++i) {
      const VariantResult *other = results.size() >= 2 ? &results[i == 0 ? 1 : 0] : nullptr;
      printJson(r, results[i], other, results.size() >= 2 ? unfusedRun : nullptr);
    }
  } else {
    printText(r, results);
  }
  for (const VariantResult &v : results) printProfile(r, v);
  return 0;
}

/// --target=cuda: every variant timed on the GPU with CUDA events (tools/cuda_tool.h),
/// its state resident on the device; one text line or JSON object per variant.
int benchCaseGpu(const BenchCase &c, const std::vector<bool> &fuse, const ExecutableOptions &exe) {
  for (bool f : fuse) {
    CudaOptions co;
    co.codegen = exe.codegen;
    co.gpu = gpuFlags.toOptions(exe.keepDenormals);
    co.plan = exe.plan;
    co.plan.fuse = f;
    const bench::WorkCounts work = bench::countWork(*c.function, co.plan);
    std::vector<HostTensor> gpuOut;
    Expected<GpuTiming> t =
        timeOnGpu(*c.function, c.inputs, co, std::max<int>(warmup, 1), reps, compareCpu ? &gpuOut : nullptr,
                  cudaGraph);
    if (!t) return fail(c.id + " on the GPU: " + errorText(t.error()));
    bool same = true;
    if (compareCpu) {
      ExecutableOptions cpuOpts = exe;
      cpuOpts.plan.fuse = f;
      Expected<std::unique_ptr<Executable>> cpu = Executable::compile(*c.function, cpuOpts);
      if (!cpu) return fail(c.id + " on the CPU: " + errorText(cpu.error()));
      Expected<std::vector<HostTensor>> cpuOut = (*cpu)->run(c.inputs);
      if (!cpuOut) return fail(c.id + " on the CPU: " + errorText(cpuOut.error()));
      const std::string report = compareWithCpu(gpuOut, *cpuOut, tolerance, same);
      (json ? llvm::errs() : llvm::outs()) << c.id << " (" << (f ? "fused" : "unfused") << ") GPU vs CPU:\n" << report;
    }
    const double sec = t->medianMs * 1e-3;
    const double gbps = static_cast<double>(work.minBytes) / sec * 1e-9;
    const double gflops = static_cast<double>(work.flops) / sec * 1e-9;
    if (json)
      llvm::outs() << fmt::format(
          "{{\"workload\": {}, \"id\": {}, \"part\": {}, \"variant\": \"{}\", \"target\": \"cuda\", "
          "\"device\": {}, \"batch\": {}, \"median_ms\": {}, \"min_ms\": {}, \"reps\": {}, \"kernels\": {}, "
          "\"min_bytes\": {}, \"flops\": {}, \"gflops\": {}, \"gbps\": {}, \"compile_ms\": {}, \"graph\": {}}}\n",
          jsonString(c.workload), jsonString(c.id), jsonString(c.part), f ? "fused" : "unfused",
          jsonString(t->device), batchJson(c), jsonNumber(t->medianMs), jsonNumber(t->minMs), t->reps, t->kernels,
          work.minBytes, work.flops, jsonNumber(gflops), jsonNumber(gbps), jsonNumber(t->compileMs),
          t->graph ? "true" : "false");
    else
      llvm::outs() << fmt::format("{} on {} ({}): min {:.4g} ms, median {:.4g} ms over {} reps, {} kernels, "
                                  "{:.1f} GB/s, {:.1f} GFLOP/s, compile {:.0f} ms{}\n",
                                  c.id, t->device, f ? "fused" : "unfused", t->minMs, t->medianMs, t->reps,
                                  t->kernels, gbps, gflops, t->compileMs,
                                  t->graph ? ", one CUDA graph" : t->graphNote.empty() ? "" : "; " + t->graphNote);
    llvm::outs().flush();
    if (!same) return fail(c.id + ": the GPU results differ from the CPU's beyond --tolerance");
  }
  return 0;
}

int benchCompile(const std::vector<bool> &fuse, const ExecutableOptions &exe, const bench::RepeatOptions &repeat) {
  const int64_t b = batch > 0 ? batch : 128;
  bench::RepeatOptions ro = repeat;
  ro.minSeconds = 0;  // compiles are slow: the rep count decides
  // Every cold compile first: they fork, and forking is simplest before any thread exists.
  struct Row {
    std::string part, variant;
    bench::Timing t;
  };
  std::vector<Row> rows;
  for (const char *part : {"cold", "warm"})
    for (bool f : fuse) {
      Expected<bench::Timing> t = bench::timeCompile(std::string(part) == "cold", b, f, exe, ro);
      if (!t) return fail(errorText(t.error()));
      rows.push_back({part, f ? "fused" : "unfused", *t});
    }
  for (const Row &row : rows) {
    if (json)
      llvm::outs() << fmt::format(
          "{{\"workload\": \"compile\", \"id\": \"compile.{}\", \"part\": \"{}\", \"variant\": \"{}\", \"batch\": {}, "
          "\"median_ms\": {}, \"min_ms\": {}, \"mean_ms\": {}, \"reps\": {}}}\n",
          row.part, row.part, row.variant, b, jsonNumber(row.t.medianMs), jsonNumber(row.t.minMs),
          jsonNumber(row.t.meanMs), row.t.reps);
    else
      llvm::outs() << fmt::format("compile W1 step (batch {}), {:<4} {:<8}: {:8.1f} ms min, {:8.1f} ms median ({} reps)\n",
                                  b, row.part, row.variant, row.t.minMs, row.t.medianMs, row.t.reps);
  }
  return 0;
}

}  // namespace

int runBench() {
  const bool gpu = target == "cuda";
  if (target != "cpu" && !gpu) return fail(fmt::format("unknown --target '{}'; targets: cpu, cuda", std::string(target)));
  if (std::string bad = gpuFlags.checkTarget(); !bad.empty()) return fail(bad);  // the other GPU flags
  if (gpu && (workload == "compile" || workload == "probe"))
    return fail(fmt::format("--target=cuda does not apply to --workload={}", std::string(workload)));
  if (inputPath.empty() == workload.empty())
    return fail(inputPath.empty() ? "give --workload=NAME or a .dlc file (see dlc bench --help)"
                                  : "give either --workload or a .dlc file, not both");
  if (reps < 1) return fail(fmt::format("--reps must be at least 1, got {}", static_cast<int>(reps)));
  if (warmup < 0) return fail(fmt::format("--warmup must be non-negative, got {}", static_cast<int>(warmup)));
  if (threads < 0) return fail(fmt::format("--threads must be non-negative, got {}", static_cast<int>(threads)));
  if (batch < 0) return fail(fmt::format("--batch must be positive, got {}", static_cast<int64_t>(batch)));
  if (elements < 1) return fail(fmt::format("--elements must be positive, got {}", static_cast<int64_t>(elements)));
  if (!workload.empty() && workload != "probe") {
    const std::vector<std::string> &names = bench::workloadNames();
    if (std::find(names.begin(), names.end(), std::string(workload)) == names.end()) {
      std::string known;
      for (const std::string &n : names) known += n + ", ";
      return fail(fmt::format("unknown workload '{}'; workloads: {}probe", std::string(workload), known));
    }
  }
  std::string error;
  std::optional<std::vector<bool>> fuse = variantsFromFlags(error);
  if (!fuse) return fail(error);
  const bool gemmFlags = shape.getNumOccurrences() > 0 || trans.getNumOccurrences() > 0;
  if (gemmFlags && workload != "gemm") return fail("--shape and --trans apply to --workload=gemm only");

  ExecutableOptions exe;
  exe.codegen = codegenFlags.toOptions();
  exe.codegen.threads = threads;
  exe.keepDenormals = keepDenormals;
  exe.profile = profile;
  if (std::string bad = planFlags.check(); !bad.empty()) return fail(bad);
  planFlags.apply(exe.plan);
  bench::RepeatOptions repeat;
  repeat.reps = reps;
  repeat.warmup = warmup;
  repeat.minSeconds = minTime;
  repeat.maxSeconds = maxTime;
  const int probeThreads = threads > 0 ? static_cast<int>(threads) : ThreadPool::hardwareThreads();

  if (workload == "compile") return benchCompile(*fuse, exe, repeat);
  auto limits = [&]() -> MachineLimits {
    if (copyGBps > 0 && peakGflops > 0) return MachineLimits{probeThreads, copyGBps, 0, peakGflops, "given"};
    MachineLimits m = bench::probeMachine(probeThreads);
    if (copyGBps > 0) m.copyGBps = copyGBps;
    if (peakGflops > 0) m.peakGflops = peakGflops;
    return m;
  };
  if (workload == "probe") {
    const MachineLimits m = bench::probeMachine(probeThreads);
    if (json)
      llvm::outs() << fmt::format(
          "{{\"workload\": \"probe\", \"id\": \"probe\", \"variant\": \"-\", \"batch\": null, \"threads\": {}, "
          "\"copy_gbps\": {}, \"copy_nt_gbps\": {}, \"triad_gbps\": {}, \"peak_gflops\": {}, \"isa\": \"{}\"}}\n",
          m.threads, jsonNumber(m.copyGBps), jsonNumber(m.copyNtGBps), jsonNumber(m.triadGBps),
          jsonNumber(m.peakGflops), m.isa);
    else
      llvm::outs() << fmt::format(
          "machine limits on {} thread(s): copy {:.1f} GB/s (streaming stores {:.1f}), triad {:.1f} GB/s, peak f32 "
          "FMA {:.0f} GFLOP/s ({})\n",
          m.threads, m.copyGBps, m.copyNtGBps, m.triadGBps, m.peakGflops, m.isa);
    return 0;
  }

  if (!inputPath.empty()) {
    std::optional<LoadedModule> input = loadModule(inputPath);
    if (!input) return 1;
    const Module &m = input->module;
    const Function *f = functionName.empty() ? (m.functions().empty() ? nullptr : m.functions().front().get())
                                             : m.lookup(functionName);
    if (!f)
      return fail(fmt::format("no function {}in {}", functionName.empty() ? "" : "@" + functionName + " ",
                              input->source.name));
    BenchCase c;
    c.workload = "file";
    c.part = f->name();
    c.id = f->name();
    c.function = f;
    c.inputs = bench::randomArguments(*f, seed);
    if (gpu) return benchCaseGpu(c, *fuse, exe);
    const MachineLimits lim = limits();
    return benchCase(Report{&c, input->source.name, &lim}, *fuse, exe, repeat);
  }

  bench::WorkloadOptions wo;
  wo.batch = batch;
  wo.elements = elements;
  wo.seed = seed;
  if (workload == "gemm")
    if (Expected<void> ok = bench::parseGemmShape(shape, trans, wo); !ok) return fail(errorText(ok.error()));
  if (batch > 0 && workload != "mlp" && workload != "cnn")
    return fail(fmt::format("--batch applies to mlp, cnn and compile, not {}", std::string(workload)));
  Expected<std::vector<BenchCase>> cases = bench::buildWorkload(workload, wo);
  if (!cases) return fail(errorText(cases.error()));
  if (gpu) {
    for (const BenchCase &c : *cases)
      if (int rc = benchCaseGpu(c, *fuse, exe); rc != 0) return rc;
    return 0;
  }
  const MachineLimits lim = limits();
  for (const BenchCase &c : *cases)
    if (int rc = benchCase(Report{&c, "", &lim}, *fuse, exe, repeat); rc != 0) return rc;
  return 0;
}

}  // namespace dlc::tool
