//===- codegen/nvptx.cpp - kernel plans -> NVPTX LLVM IR -> PTX -------------===//
//
// A Loop kernel reuses the CPU emitter: emitKernel() writes `<name>.cpu` (the CPU ABI
// entry, deleted here) and `<name>.cpu.body(bufs..., begin, end)` (alwaysinline); the GPU
// kernel `<name>` calls the body for one parallel index (or a block of a flat kernel's
// elements: loads, then math, then stores, KernelEmitter's flat block) per iteration of
// a grid-stride loop. After inlining, the body's loops over
// [begin, end) have a constant trip count and disappear. MatMul kernels come from
// nvptx_gemm.cpp.
//
// Math: the IR of emitScalar calls llvm.exp/llvm.log/llvm.pow and tanhf/tanh (libm on the
// CPU); here they become libdevice's __nv_* functions, linked from the bitcode file
// (LinkOnlyNeeded) and internalized. NVPTX's pass-builder callbacks run NVVMReflect,
// which resolves libdevice's __nvvm_reflect("__CUDA_FTZ") from the module flag
// `nvvm-reflect-ftz`.
//
//===----------------------------------------------------------------------===//
#include "codegen/nvptx.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicsNVPTX.h>
#include <llvm/IR/Metadata.h>
#include <llvm/Linker/Linker.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>

#include "codegen/kernel_emitter.h"
#include "codegen/llvm_support.h"
#include "codegen/nvptx_internal.h"
#include "ir/reduce_order.h"

namespace dlc {
namespace {

constexpr const char *kNvptxTriple = "nvptx64-nvidia-cuda";
/// The newest PTX ISA LLVM 16 writes; sm_90 needs 7.8, older GPUs accept it too
/// (drivers from CUDA 11.8 on).
constexpr const char *kPtxFeatures = "+ptx78";

void initializeNvptx() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
  });
}

TargetInfo gpuTargetInfo(const GpuOptions &gpu) { return TargetInfo{kNvptxTriple, gpu.arch, kPtxFeatures, 32}; }

Expected<std::unique_ptr<llvm::TargetMachine>> makeGpuTargetMachine(const GpuOptions &gpu, const CodegenOptions &opts) {
  initializeNvptx();
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(kNvptxTriple, err);
  if (!target) return makeError(Location{}, "this dlc was built without LLVM's NVPTX target: {}", err);
  // Asked of a known CPU: an unknown name would make LLVM print a warning on stderr.
  std::unique_ptr<llvm::MCSubtargetInfo> sti(target->createMCSubtargetInfo(kNvptxTriple, "sm_90", kPtxFeatures));
  if (!sti || !sti->isCPUStringValid(gpu.arch))
    return makeError(Location{}, "unknown GPU architecture '{}' (expected sm_XX, e.g. sm_80 or sm_90)", gpu.arch);
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      kNvptxTriple, gpu.arch, kPtxFeatures, cg::targetOptions(opts), std::nullopt, std::nullopt,
      cg::codegenLevel(opts.optLevel)));
  if (!tm) return makeError(Location{}, "cannot create an NVPTX target machine for {}", gpu.arch);
  // mma.sync with TF32 operands and cvt.rna.tf32.f32 exist from sm_80 (Ampere) on.
  if (gpu.tf32 && std::atoi(gpu.arch.c_str() + 3) < 80)
    return makeError(Location{}, "--gpu-tf32 needs sm_80 or newer (TF32 tensor cores), not {}", gpu.arch);
  return tm;
}

/// The libdevice function for \p name (an intrinsic's base name or a libm function) on
/// \p t, or empty.
std::string libdeviceName(llvm::StringRef name, llvm::Type *t) {
  const bool f32 = t->isFloatTy();
  if (!f32 && !t->isDoubleTy()) return {};
  static const std::pair<const char *, const char *> map[] = {
      {"llvm.exp", "exp"}, {"llvm.log", "log"}, {"llvm.pow", "pow"}, {"expf", "exp"}, {"exp", "exp"},
      {"logf", "log"},     {"log", "log"},      {"powf", "pow"},     {"pow", "pow"},  {"tanhf", "tanh"},
      {"tanh", "tanh"}};
  for (const auto &[from, to] : map) {
    const llvm::StringRef f(from);
    if (name == f || (f.startswith("llvm.") && name.startswith(f) && name.size() > f.size() && name[f.size()] == '.'))
      return std::string("__nv_") + to + (f32 ? "f" : "");
  }
  return {};
}

/// Replaces calls of libm functions and math intrinsics that NVPTX cannot lower by
/// libdevice calls; returns the libdevice functions now called.
std::set<std::string> rewriteMath(llvm::Module &m) {
  std::set<std::string> used;
  std::vector<llvm::CallInst *> calls;
  for (llvm::Function &f : m)
    for (llvm::BasicBlock &bb : f)
      for (llvm::Instruction &i : bb)
        if (auto *c = llvm::dyn_cast<llvm::CallInst>(&i))
          if (llvm::Function *callee = c->getCalledFunction(); callee && callee->isDeclaration())
            if (!libdeviceName(callee->getName(), c->getType()).empty()) calls.push_back(c);
  for (llvm::CallInst *c : calls) {
    const std::string name = libdeviceName(c->getCalledFunction()->getName(), c->getType());
    std::vector<llvm::Type *> params;
    std::vector<llvm::Value *> args;
    for (llvm::Value *a : c->args()) {
      params.push_back(a->getType());
      args.push_back(a);
    }
    llvm::FunctionCallee nv = m.getOrInsertFunction(name, llvm::FunctionType::get(c->getType(), params, false));
    llvm::CallInst *call = llvm::CallInst::Create(nv, args, "", c);
    call->takeName(c);
    c->replaceAllUsesWith(call);
    c->eraseFromParent();
    used.insert(name);
  }
  for (llvm::Function &f : llvm::make_early_inc_range(m))
    if (f.isDeclaration() && f.use_empty() && !f.isIntrinsic()) f.eraseFromParent();
  return used;
}

Expected<void> linkLibdevice(llvm::Module &m, const GpuOptions &gpu, const std::set<std::string> &used) {
  const std::string path = gpu.libdevice.empty() ? findLibdevice() : gpu.libdevice;
  std::string list;
  for (const std::string &u : used) list += (list.empty() ? "" : ", ") + u;
  if (path.empty())
    return makeError(Location{}, "the kernels call libdevice ({}) but no libdevice was found: set DLC_LIBDEVICE "
                                 "or CUDA_HOME (libdevice.10.bc), or use --math=vector (f32 exp/log/tanh/sigmoid)",
                     list);
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf) return makeError(Location{}, "cannot read libdevice '{}': {}", path, buf.getError().message());
  auto lib = llvm::parseBitcodeFile((*buf)->getMemBufferRef(), m.getContext());
  if (!lib) return cg::toError(lib.takeError(), fmt::format("cannot parse libdevice '{}'", path));
  (*lib)->setDataLayout(m.getDataLayout());
  (*lib)->setTargetTriple(m.getTargetTriple());
  if (llvm::Linker::linkModules(m, std::move(*lib), llvm::Linker::LinkOnlyNeeded))
    return makeError(Location{}, "cannot link libdevice '{}' into the kernels", path);
  return {};
}

/// Kernels stay external; everything else (bodies, libdevice) becomes internal, so the
/// optimizer inlines it and drops what is unused.
void internalize(llvm::Module &m, const std::set<std::string> &kernels) {
  for (llvm::Function &f : m)
    if (!f.isDeclaration() && !kernels.count(f.getName().str())) f.setLinkage(llvm::GlobalValue::InternalLinkage);
  for (llvm::GlobalVariable &g : m.globals())
    if (!g.isDeclaration()) g.setLinkage(llvm::GlobalValue::InternalLinkage);
}

/// A half warp per parallel index: lane = tid.x mod 16 (blocks and the grid stride are
/// multiples of 32, so the 16 iterations of an index are 16 consecutive threads of one
/// warp, which enter and leave the grid-stride loop together). Shuffles name exactly the
/// half warp (membermask) and stay inside it (segment width 16).
class HalfWarp final : public cg::LaneGroup {
 public:
  llvm::Value *lane(llvm::IRBuilder<> &b) override {
    llvm::Value *tid = cg::readSreg(b, cg::Sreg::TidX);
    // The 16 threads of this half of the warp: bits 0-15 or 16-31.
    mask_ = b.CreateShl(b.getInt32(0xffff), b.CreateAnd(tid, b.getInt32(16)), "halfwarp");
    return b.CreateZExt(b.CreateAnd(tid, b.getInt32(kReduceLanes - 1)), b.getInt64Ty(), "lane");
  }
  llvm::Value *shuffleDown(llvm::IRBuilder<> &b, llvm::Value *v, int offset) override {
    return shuffle(b, v, b.getInt32(static_cast<uint32_t>(offset)), true);
  }
  llvm::Value *fromFirstLane(llvm::IRBuilder<> &b, llvm::Value *v) override {
    return shuffle(b, v, b.getInt32(0), false);
  }

 private:
  /// shfl.sync.down / .idx on any scalar: 32-bit pieces (i1's i8 and f64/i64 too).
  llvm::Value *shuffle(llvm::IRBuilder<> &b, llvm::Value *v, llvm::Value *lane, bool down) {
    DL_ASSERT(mask_ != nullptr, "lane() first");
    // c = ((32 - width) << 8) | 31: segments of 16 lanes, clamped at their last lane.
    llvm::Value *c = b.getInt32(((32 - kReduceLanes) << 8) | 31);
    llvm::Type *t = v->getType();
    if (t->isFloatTy()) {
      const auto id = down ? llvm::Intrinsic::nvvm_shfl_sync_down_f32 : llvm::Intrinsic::nvvm_shfl_sync_idx_f32;
      return b.CreateIntrinsic(id, {}, {mask_, v, lane, c});
    }
    const auto id = down ? llvm::Intrinsic::nvvm_shfl_sync_down_i32 : llvm::Intrinsic::nvvm_shfl_sync_idx_i32;
    const unsigned bits = static_cast<unsigned>(t->getPrimitiveSizeInBits());
    llvm::Value *x = b.CreateBitCast(v, b.getIntNTy(bits));
    if (bits <= 32) {
      llvm::Value *r = b.CreateIntrinsic(id, {}, {mask_, b.CreateZExt(x, b.getInt32Ty()), lane, c});
      return b.CreateBitCast(b.CreateTrunc(r, b.getIntNTy(bits)), t);
    }
    DL_ASSERT(bits == 64, "a 64-bit scalar");
    llvm::Value *lo = b.CreateIntrinsic(id, {}, {mask_, b.CreateTrunc(x, b.getInt32Ty()), lane, c});
    llvm::Value *hi = b.CreateIntrinsic(id, {}, {mask_, b.CreateTrunc(b.CreateLShr(x, 32), b.getInt32Ty()), lane, c});
    llvm::Value *r = b.CreateOr(b.CreateZExt(lo, b.getInt64Ty()), b.CreateShl(b.CreateZExt(hi, b.getInt64Ty()), 32));
    return b.CreateBitCast(r, t);
  }
  llvm::Value *mask_ = nullptr;
};

/// Elements per grid-stride iteration of flat kernel \p k (a power of two; 1: not flat,
/// or too small for a block).
int64_t flatBlockOf(const KernelSpec &k, int64_t extent, const GpuOptions &gpu) {
  if (!k.domain.flat || extent < kFlatVector) return 1;
  if (gpu.flatElements > 0) return extent >= gpu.flatElements ? gpu.flatElements : 1;
  // Costly math (exp, tanh, division): two 128-bit accesses per buffer in flight per
  // thread, so that fewer resident threads (more registers each) still cover the
  // memory latency.
  const bool costly = std::any_of(k.nodes.begin(), k.nodes.end(),
                                  [](const Node *n) { return hasTrait(n->kind(), kCostly); });
  return costly && extent >= 2 * kFlatVector ? 2 * kFlatVector : kFlatVector;
}

/// The grid-stride kernel around the CPU emitter's body.
llvm::Function *emitLoopKernel(llvm::Module &m, const KernelSpec &k, const TargetInfo &t,
                               const CodegenOptions &opts, const GpuOptions &gpu, GpuLaunch &launch) {
  DL_ASSERT(k.kind != KernelKind::Horizontal, "GPU plans have no horizontal kernels");
  const std::string cpuName = k.name + ".cpu";
  // Kernels with contiguous reductions: a half warp per parallel index (sharesRows).
  HalfWarp halfWarp;
  const bool rows = cg::sharesRows(k);
  const int64_t extent = k.root().type().numElements() > 0 ? k.domain.parallelExtent() : 0;
  const int64_t per = rows ? 1 : flatBlockOf(k, extent, gpu);
  // A flat kernel: the body takes `per` elements per call (loads, math, stores:
  // KernelEmitter's flat block); the extent's remainder is a tail body of one element.
  const int64_t tail = per > 1 ? extent % per : 0;
  auto bodyOf = [&](const std::string &name, int64_t block) {
    llvm::Function *entry = cg::emitKernel(m, k, name, t, opts, rows ? &halfWarp : nullptr, block);
    entry->eraseFromParent();
    llvm::Function *body = m.getFunction(name + ".body");
    DL_ASSERT(body != nullptr, "the kernel emitter wrote no body");
    return body;
  };
  llvm::Function *body = bodyOf(cpuName, per);
  llvm::Function *tailBody = tail > 0 ? bodyOf(k.name + ".tail.cpu", 1) : nullptr;
  // Its shuffles need the half warp together: no transformation may make them divergent.
  if (rows) body->addFnAttr(llvm::Attribute::Convergent);

  launch.threadsPerIndex = rows ? static_cast<int>(kReduceLanes) : 1;
  const int64_t iterations = extent / per * launch.threadsPerIndex;
  // The tail's elements go to the first `tail` threads, which exist when the launch
  // covers max(iterations, tail) (the runtime's grid covers at least that).
  launch.iterations = std::max(iterations, tail);
  launch.elementsPerIteration = per;
  launch.tail = tail;

  llvm::Function *f = cg::createGpuKernel(m, k.name, k.numBuffers(), kGpuBlockThreads);
  // A flat kernel reads and writes element i of every full-size buffer and nothing else
  // there, and an in-place output reuses an input only at the same element, which the
  // body reads before it writes: no access through one buffer can observe a store
  // through another at a different element, so the buffers may be declared noalias.
  if (per > 1)
    for (unsigned i = 0; i < f->arg_size(); ++i) f->addParamAttr(i, llvm::Attribute::NoAlias);
  llvm::LLVMContext &c = m.getContext();
  llvm::IRBuilder<> b(&f->getEntryBlock());
  llvm::Type *i64 = b.getInt64Ty();
  llvm::Value *tid = b.CreateZExt(cg::readSreg(b, cg::Sreg::TidX), i64);
  llvm::Value *ntid = b.CreateZExt(cg::readSreg(b, cg::Sreg::NtidX), i64);
  llvm::Value *ctaid = b.CreateZExt(cg::readSreg(b, cg::Sreg::CtaidX), i64);
  llvm::Value *nctaid = b.CreateZExt(cg::readSreg(b, cg::Sreg::NctaidX), i64);
  llvm::Value *start = b.CreateAdd(b.CreateMul(ctaid, ntid, "", true, true), tid, "start", true, true);
  llvm::Value *stride = b.CreateMul(nctaid, ntid, "stride", true, true);
  llvm::Value *n = b.getInt64(static_cast<uint64_t>(iterations));
  llvm::BasicBlock *entry = b.GetInsertBlock();
  llvm::BasicBlock *loop = llvm::BasicBlock::Create(c, "grid.loop", f);
  llvm::BasicBlock *exit = llvm::BasicBlock::Create(c, "grid.exit", f);
  b.CreateCondBr(b.CreateICmpSLT(start, n), loop, exit);
  b.SetInsertPoint(loop);
  llvm::PHINode *p = b.CreatePHI(i64, 2, "p");
  p->addIncoming(start, entry);
  std::vector<llvm::Value *> args;
  for (llvm::Argument &a : f->args()) args.push_back(&a);
  llvm::Value *begin = rows       ? b.CreateLShr(p, b.getInt64(4), "index")  // iteration 16 i + lane: index i
                      : per == 1 ? static_cast<llvm::Value *>(p)
                                 : b.CreateMul(p, b.getInt64(per), "", true, true);
  std::vector<llvm::Value *> call = args;
  call.push_back(begin);
  call.push_back(b.CreateAdd(begin, b.getInt64(per), "", true, true));
  b.CreateCall(body, call);
  llvm::Value *next = b.CreateAdd(p, stride, "p.next", true, true);
  p->addIncoming(next, loop);
  b.CreateCondBr(b.CreateICmpSLT(next, n), loop, exit);
  b.SetInsertPoint(exit);
  if (tailBody) {
    // Elements extent - tail + start for the threads start < tail, one each.
    llvm::BasicBlock *tailBB = llvm::BasicBlock::Create(c, "tail", f);
    llvm::BasicBlock *done = llvm::BasicBlock::Create(c, "done", f);
    b.CreateCondBr(b.CreateICmpSLT(start, b.getInt64(static_cast<uint64_t>(tail))), tailBB, done);
    b.SetInsertPoint(tailBB);
    llvm::Value *at = b.CreateAdd(start, b.getInt64(static_cast<uint64_t>(extent - tail)), "", true, true);
    call = args;
    call.push_back(at);
    call.push_back(b.CreateAdd(at, b.getInt64(1), "", true, true));
    b.CreateCall(tailBody, call);
    b.CreateBr(done);
    b.SetInsertPoint(done);
  }
  b.CreateRetVoid();
  return f;
}

/// Emits \p kernels into \p m (one kernel each); fills \p launches.
void emitAll(llvm::Module &m, std::span<const KernelSpec> kernels, const TargetInfo &t, const CodegenOptions &opts,
             const GpuOptions &gpu, std::vector<GpuLaunch> &launches) {
  for (const KernelSpec &k : kernels) {
    GpuLaunch launch;
    launch.name = k.name;
    if (k.kind == KernelKind::MatMul) cg::emitGpuGemm(m, k, k.name, opts, gpu, launch);
    else emitLoopKernel(m, k, t, opts, gpu, launch);
    launches.push_back(std::move(launch));
  }
}

/// Links libdevice if needed, sets the numerics attributes and internalizes.
Expected<bool> finishModule(llvm::Module &m, const GpuOptions &gpu, const std::set<std::string> &kernels) {
  const std::set<std::string> used = rewriteMath(m);
  if (!used.empty())
    if (Expected<void> ok = linkLibdevice(m, gpu, used); !ok) return ok.takeError();
  m.addModuleFlag(llvm::Module::Override, "nvvm-reflect-ftz", gpu.flushDenormals ? 1 : 0);
  for (llvm::Function &f : m) {
    if (f.isDeclaration()) continue;
    // One target for every function (libdevice's carry none), so the inliner may inline.
    f.removeFnAttr("target-cpu");
    f.removeFnAttr("target-features");
    f.removeFnAttr("prefer-vector-width");
    f.addFnAttr("denormal-fp-math-f32", gpu.flushDenormals ? "preserve-sign,preserve-sign" : "ieee,ieee");
  }
  internalize(m, kernels);
  return !used.empty();
}

/// After optimization (NVVMReflect has resolved libdevice's `__nvvm_reflect`), no call
/// of an external function may be left: PTX has no libraries to link against.
Expected<void> checkNoExternalCalls(const llvm::Module &m) {
  for (const llvm::Function &f : m)
    if (f.isDeclaration() && !f.isIntrinsic() && !f.use_empty())
      return makeError(Location{}, "GPU kernel code calls '{}', which the NVPTX backend cannot provide",
                       f.getName().str());
  return {};
}

}  // namespace

std::string findLibdevice() {
  namespace fs = std::filesystem;
  std::vector<std::string> candidates;
  if (const char *p = std::getenv("DLC_LIBDEVICE"); p && *p) candidates.emplace_back(p);
  if (const char *p = std::getenv("CUDA_HOME"); p && *p)
    candidates.push_back(std::string(p) + "/nvvm/libdevice/libdevice.10.bc");
  candidates.emplace_back("/usr/local/cuda/nvvm/libdevice/libdevice.10.bc");
  for (const std::string &c : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(c, ec)) return c;
  }
  return {};
}

namespace cg {

llvm::Function *createGpuKernel(llvm::Module &m, const std::string &name, size_t numBuffers, int maxThreads) {
  llvm::LLVMContext &c = m.getContext();
  std::vector<llvm::Type *> params(numBuffers, llvm::PointerType::getUnqual(c));
  auto *fty = llvm::FunctionType::get(llvm::Type::getVoidTy(c), params, false);
  llvm::Function *f = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, name, m);
  for (unsigned i = 0; i < numBuffers; ++i) {
    f->getArg(i)->setName(fmt::format("b{}", i));
    // Arena offsets are multiples of kBufferAlignment (64) and device allocations of
    // 256 bytes: 16 lets flat kernels use 128-bit accesses.
    f->addParamAttr(i, llvm::Attribute::getWithAlignment(c, llvm::Align(16)));
    f->addParamAttr(i, llvm::Attribute::NoCapture);
  }
  f->setDoesNotThrow();
  llvm::BasicBlock::Create(c, "entry", f);
  llvm::NamedMDNode *ann = m.getOrInsertNamedMetadata("nvvm.annotations");
  auto i32 = [&](int v) { return llvm::ConstantAsMetadata::get(llvm::ConstantInt::get(llvm::Type::getInt32Ty(c), v)); };
  ann->addOperand(llvm::MDNode::get(c, {llvm::ValueAsMetadata::get(f), llvm::MDString::get(c, "kernel"), i32(1)}));
  ann->addOperand(llvm::MDNode::get(c, {llvm::ValueAsMetadata::get(f), llvm::MDString::get(c, "maxntidx"), i32(maxThreads)}));
  return f;
}

llvm::Value *readSreg(llvm::IRBuilder<> &b, Sreg r) {
  llvm::Intrinsic::ID id = llvm::Intrinsic::nvvm_read_ptx_sreg_tid_x;
  switch (r) {
  case Sreg::TidX: id = llvm::Intrinsic::nvvm_read_ptx_sreg_tid_x; break;
  case Sreg::NtidX: id = llvm::Intrinsic::nvvm_read_ptx_sreg_ntid_x; break;
  case Sreg::CtaidX: id = llvm::Intrinsic::nvvm_read_ptx_sreg_ctaid_x; break;
  case Sreg::CtaidY: id = llvm::Intrinsic::nvvm_read_ptx_sreg_ctaid_y; break;
  case Sreg::CtaidZ: id = llvm::Intrinsic::nvvm_read_ptx_sreg_ctaid_z; break;
  case Sreg::NctaidX: id = llvm::Intrinsic::nvvm_read_ptx_sreg_nctaid_x; break;
  }
  return b.CreateIntrinsic(id, {}, {});
}

}  // namespace cg

Expected<PtxModule> compileToPtx(std::span<const KernelSpec> kernels, const CodegenOptions &opts,
                                 const GpuOptions &gpu) {
  for (const KernelSpec &k : kernels) {
    if (k.kind == KernelKind::Horizontal)
      return makeError(Location{}, "kernel {} is horizontal, which has no GPU lowering yet (plan with gpuPlanOptions)",
                       k.name);
    if (k.gemmLoop)
      return makeError(Location{},
                       "kernel {} has a GEMM loop epilogue, which has no GPU lowering yet (plan with gpuPlanOptions)",
                       k.name);
  }
  DL_TRY(std::unique_ptr<llvm::TargetMachine> tm, makeGpuTargetMachine(gpu, opts));
  auto [ctx, mod] = cg::newKernelModule("dlc_gpu", tm->createDataLayout(), kNvptxTriple);
  PtxModule out;
  emitAll(*mod, kernels, gpuTargetInfo(gpu), opts, gpu, out.launches);
  std::set<std::string> names;
  for (const GpuLaunch &l : out.launches) names.insert(l.name);
  DL_TRY(out.usesLibdevice, finishModule(*mod, gpu, names));
  cg::optimizeModule(*mod, *tm, opts.optLevel);
  if (Expected<void> ok = checkNoExternalCalls(*mod); !ok) return ok.takeError();
  DL_TRY(out.ptx, cg::emitAssembly(*mod, *tm));
  return out;
}

Expected<std::string> emitGpuKernels(const Function &f, EmitKind kind, const CodegenOptions &opts,
                                     const GpuOptions &gpu, const KernelPlanOptions &planOpts) {
  DL_TRY(std::unique_ptr<llvm::TargetMachine> tm, makeGpuTargetMachine(gpu, opts));
  const KernelPlan plan = planKernels(f, gpuPlanOptions(planOpts));
  // PTX comments are `//`, LLVM IR's `;`: the output stays valid input for ptxas or llc.
  const char *comment = kind == EmitKind::Assembly || kind == EmitKind::Ptx ? "//" : ";";
  std::string out = fmt::format("{} dlc kernels of @{} for {} {}\n", comment, f.name(), kNvptxTriple, gpu.arch);
  for (const auto &[value, owner] : plan.aliases)
    out += fmt::format("{} {} {} aliases its operand's buffer (no kernel)\n", comment, value->def()->mnemonic(),
                       typeString(value->type()));
  for (const KernelSpec &k : plan.kernels) {
    auto [ctx, mod] = cg::newKernelModule(k.name, tm->createDataLayout(), kNvptxTriple);
    std::vector<GpuLaunch> launches;
    emitAll(*mod, std::span<const KernelSpec>(&k, 1), gpuTargetInfo(gpu), opts, gpu, launches);
    const GpuLaunch &l = launches.front();
    std::string how = l.fixedGrid ? fmt::format("grid {}x{}x{} of {} threads", l.grid[0], l.grid[1], l.grid[2], l.block)
                                  : fmt::format("grid-stride over {} iterations", l.iterations);
    if (l.threadsPerIndex > 1) how += fmt::format(" ({} threads per index)", l.threadsPerIndex);
    if (l.elementsPerIteration > 1) how += fmt::format(" of {} elements", l.elementsPerIteration);
    if (l.tail > 0) how += fmt::format(", a tail of {}", l.tail);
    out += fmt::format("\n{} kernel {}: {} -> {}, {}\n", comment, k.name, k.root().mnemonic(),
                       typeString(k.root().type()), how);
    if (kind != EmitKind::LlvmIR) {
      if (Expected<bool> ok = finishModule(*mod, gpu, {k.name}); !ok) return ok.takeError();
      cg::optimizeModule(*mod, *tm, opts.optLevel);
      if (Expected<void> ok = checkNoExternalCalls(*mod); !ok) return ok.takeError();
    }
    if (kind == EmitKind::Assembly || kind == EmitKind::Ptx) {
      DL_TRY(std::string text, cg::emitAssembly(*mod, *tm));
      out += text;
    } else {
      out += cg::moduleText(*mod);
    }
  }
  return out;
}

}  // namespace dlc
