//===- codegen/horizontal.cpp - independent loop kernels in one launch -----===//
//
// A KernelKind::Horizontal kernel (kernel_plan.h) runs its parts, independent loop
// kernels, as one launch. Its parallel index space is the concatenation of the parts'
// chunks: part j owns indices [O_j, O_j + N_j), N_j = ceil(extent_j / chunk_j), and index
// O_j + c is chunk c of part j. The entry clips [begin, end) to each part's range and
// calls that part's body (the ordinary loop nest of loop_kernel.cpp, with the part's own
// buffers picked from the horizontal kernel's) on the elements of those chunks:
//
//   define void @kernel(ptr %buffers, i64 %begin, i64 %end)
//     lo = max(begin, O_j); hi = min(end, O_j + N_j)
//     if lo < hi: part_j.body(bufs of part j..., (lo - O_j) * C_j, min((hi - O_j) * C_j, E_j))
//
// A part computes every element exactly as the part would as a kernel of its own.
//
//===----------------------------------------------------------------------===//
#include <algorithm>

#include "codegen/kernel_emitter.h"

namespace dlc::cg {

llvm::Function *emitHorizontalKernel(llvm::Module &m, const KernelSpec &k, const std::string &entryName,
                                     const TargetInfo &t, const CodegenOptions &o) {
  llvm::LLVMContext &c = m.getContext();
  std::vector<llvm::Function *> bodies;
  for (size_t j = 0; j < k.parts.size(); ++j) {
    const std::string name = fmt::format("{}.part{}", entryName, j);
    DL_ASSERT(k.parts[j].kind == KernelKind::Loop, "a horizontal kernel's parts are loop kernels");
    // The parts are small loops (a parameter's update, a loss sum): on AVX-512 their tails
    // run as masked vector iterations, which compiles a third of the code (W1's kernel of
    // bias updates and loss: 1035 -> 608 instructions, 109 -> 69 ms of compile CPU).
    KernelEmitter e(m, k.parts[j], t, o);
    e.setFoldTails(t.vectorBits >= 512);
    e.emit(name)->eraseFromParent();
    llvm::Function *body = m.getFunction(name + ".body");
    DL_ASSERT(body != nullptr, "the kernel emitter wrote no body");
    bodies.push_back(body);
  }
  llvm::IRBuilder<> b(c);
  llvm::Type *ptr = llvm::PointerType::getUnqual(c);
  llvm::Type *i64 = b.getInt64Ty();
  auto *fty = llvm::FunctionType::get(b.getVoidTy(), {ptr, i64, i64}, false);
  llvm::Function *f = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, entryName, m);
  // The attributes of every kernel entry (KernelEmitter::setTargetAttributes).
  f->addFnAttr("target-cpu", t.cpu);
  if (!t.features.empty()) f->addFnAttr("target-features", t.features);
  f->addFnAttr("prefer-vector-width", std::to_string(t.vectorBits));
  f->setDoesNotThrow();
  llvm::Argument *buffers = f->getArg(0), *begin = f->getArg(1), *end = f->getArg(2);
  buffers->setName("buffers");
  begin->setName("begin");
  end->setName("end");
  b.SetInsertPoint(llvm::BasicBlock::Create(c, "entry", f));
  std::vector<llvm::Value *> bufs;
  for (size_t i = 0; i < k.numBuffers(); ++i) {
    llvm::Value *slot = b.CreateConstInBoundsGEP1_64(ptr, buffers, i);
    bufs.push_back(b.CreateAlignedLoad(ptr, slot, llvm::Align(8), fmt::format("buf{}", i)));
  }
  auto bufferOf = [&](const Value *v, bool output) {
    const std::vector<const Value *> &list = output ? k.outputs : k.inputs;
    auto it = std::find(list.begin(), list.end(), v);
    DL_ASSERT(it != list.end(), "a part's buffer is one of the horizontal kernel's");
    return bufs[(output ? k.inputs.size() : 0) + static_cast<size_t>(it - list.begin())];
  };
  auto smax = [&](llvm::Value *x, llvm::Value *y) { return b.CreateSelect(b.CreateICmpSGT(x, y), x, y); };
  auto smin = [&](llvm::Value *x, llvm::Value *y) { return b.CreateSelect(b.CreateICmpSLT(x, y), x, y); };
  int64_t offset = 0;
  for (size_t j = 0; j < k.parts.size(); ++j) {
    const KernelSpec &p = k.parts[j];
    const int64_t extent = p.domain.parallelExtent(), chunks = (extent + p.chunk - 1) / p.chunk;
    llvm::Value *first = b.getInt64(static_cast<uint64_t>(offset));
    llvm::Value *lo = smax(begin, first);
    llvm::Value *hi = smin(end, b.getInt64(static_cast<uint64_t>(offset + chunks)));
    llvm::BasicBlock *run = llvm::BasicBlock::Create(c, fmt::format("part{}", j), f);
    llvm::BasicBlock *next = llvm::BasicBlock::Create(c, fmt::format("after.part{}", j), f);
    b.CreateCondBr(b.CreateICmpSLT(lo, hi), run, next);
    b.SetInsertPoint(run);
    std::vector<llvm::Value *> args;
    for (const Value *v : p.inputs) args.push_back(bufferOf(v, false));
    for (const Value *v : p.outputs) args.push_back(bufferOf(v, true));
    llvm::Value *chunk = b.getInt64(static_cast<uint64_t>(p.chunk));
    args.push_back(b.CreateMul(b.CreateSub(lo, first), chunk));
    args.push_back(smin(b.CreateMul(b.CreateSub(hi, first), chunk), b.getInt64(static_cast<uint64_t>(extent))));
    b.CreateCall(bodies[j], args);
    b.CreateBr(next);
    b.SetInsertPoint(next);
    offset += chunks;
  }
  b.CreateRetVoid();
  return f;
}

}  // namespace dlc::cg
