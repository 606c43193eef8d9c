//===- codegen/kernel_emitter.cpp - kernel -> LLVM function -----------------===//
//
// The ABI entry, the noalias body and its dispatch by kernel kind (a Loop kernel's loop
// nest is loop_kernel.cpp), the indexing and loop helpers the op generators share, and
// the one exhaustive switch that dispatches an element request to the generator of its
// op.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernel_emitter.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/MDBuilder.h>

#include "codegen/llvm_support.h"
#include "ir/reduce_order.h"

namespace dlc::cg {

KernelEmitter::KernelEmitter(llvm::Module &m, const KernelSpec &k, const TargetInfo &t,
                             const CodegenOptions &o, LaneGroup *lanes, int64_t flatBlock)
    : m_(m), k_(k), target_(t), opts_(o), b_(m.getContext()), lanes_(lanes), flatBlock_(flatBlock) {
  if (o.fastMath) b_.setFastMathFlags(llvm::FastMathFlags::getFast());
  for (const Node *n : k.nodes) inGroup_[n->result()] = n;
}

void KernelEmitter::setTargetAttributes(llvm::Function *f) {
  f->addFnAttr("target-cpu", target_.cpu);
  if (!target_.features.empty()) f->addFnAttr("target-features", target_.features);
  // LLVM prefers 256-bit vectors on AVX-512 CPUs; 512 was ~30 % faster on our loops
  // (BENCHMARKS.md), so kernels ask for the full width.
  f->addFnAttr("prefer-vector-width", std::to_string(target_.vectorBits));
  f->setDoesNotThrow();
}

llvm::Function *KernelEmitter::emit(const std::string &entryName) {
  entryName_ = entryName;
  llvm::Function *body = createBody(entryName + ".body");
  createEntry(entryName, body);
  return m_.getFunction(entryName);
}

llvm::Function *KernelEmitter::createBody(const std::string &name) {
  llvm::LLVMContext &c = ctx();
  std::vector<llvm::Type *> params(k_.numBuffers(), llvm::PointerType::getUnqual(c));
  params.push_back(b_.getInt64Ty());
  params.push_back(b_.getInt64Ty());
  auto *fty = llvm::FunctionType::get(b_.getVoidTy(), params, false);
  fn_ = llvm::Function::Create(fty, llvm::Function::InternalLinkage, name, m_);
  setTargetAttributes(fn_);
  fn_->addFnAttr(llvm::Attribute::AlwaysInline);

  unsigned argNo = 0;
  auto bindBuffer = [&](const Value *v, const std::string &argName, bool readOnly) {
    llvm::Argument *a = fn_->getArg(argNo);
    a->setName(argName);
    fn_->addParamAttr(argNo, llvm::Attribute::NoAlias);
    fn_->addParamAttr(argNo, llvm::Attribute::NoCapture);
    if (readOnly) fn_->addParamAttr(argNo, llvm::Attribute::ReadOnly);
    if (v->type().numBytes() > 0)
      fn_->addDereferenceableParamAttr(argNo, static_cast<uint64_t>(v->type().numBytes()));
    buffers_[v] = a;
    ++argNo;
  };
  for (size_t i = 0; i < k_.inputs.size(); ++i) bindBuffer(k_.inputs[i], fmt::format("in{}", i), true);
  for (size_t i = 0; i < k_.outputs.size(); ++i) bindBuffer(k_.outputs[i], fmt::format("out{}", i), false);
  llvm::Argument *begin = fn_->getArg(argNo), *end = fn_->getArg(argNo + 1);
  begin->setName("begin");
  end->setName("end");

  b_.SetInsertPoint(llvm::BasicBlock::Create(c, "entry", fn_));
  // An empty result has nothing to compute (and its index maps may divide by 0).
  if (k_.root().type().numElements() > 0) {
    switch (k_.kind) {
    case KernelKind::Loop: emitLoopBody(begin, end); break;
    case KernelKind::MatMul: emitMatMulBody(begin, end); break;
    case KernelKind::Conv: emitDirectConv(*this, k_.root(), begin, end); break;
    case KernelKind::Horizontal: DL_UNREACHABLE("horizontal kernels have no body of their own (horizontal.cpp)");
    }
  }
  b_.CreateRetVoid();
  return fn_;
}

void KernelEmitter::createEntry(const std::string &name, llvm::Function *body) {
  llvm::LLVMContext &c = ctx();
  llvm::Type *ptr = llvm::PointerType::getUnqual(c);
  auto *fty = llvm::FunctionType::get(b_.getVoidTy(), {ptr, b_.getInt64Ty(), b_.getInt64Ty()}, false);
  llvm::Function *f = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, name, m_);
  setTargetAttributes(f);
  if (streams()) f->addFnAttr(kStreamStoresAttr);  // markStreamingStores, after inlining
  f->getArg(0)->setName("buffers");
  f->getArg(1)->setName("begin");
  f->getArg(2)->setName("end");
  llvm::IRBuilder<> eb(llvm::BasicBlock::Create(c, "entry", f));
  std::vector<llvm::Value *> args;
  for (size_t i = 0; i < k_.numBuffers(); ++i) {
    llvm::Value *slot = eb.CreateConstInBoundsGEP1_64(ptr, f->getArg(0), i);
    args.push_back(eb.CreateAlignedLoad(ptr, slot, llvm::Align(8), fmt::format("buf{}", i)));
  }
  args.push_back(f->getArg(1));
  args.push_back(f->getArg(2));
  eb.CreateCall(body, args);
  eb.CreateRetVoid();
}

// --- Indexing --------------------------------------------------------------------------

int64_t shapeProduct(const Shape &s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= s[i];
  return p;
}

std::vector<llvm::Value *> KernelEmitter::dimsOf(const IrIndex &idx) {
  if (!idx.dims.empty() || idx.shape.empty()) return idx.dims;
  DL_ASSERT(idx.linear != nullptr, "an index needs dims or a linear offset");
  std::vector<llvm::Value *> dims(idx.shape.size());
  llvm::Value *rest = idx.linear;
  for (size_t d = idx.shape.size(); d-- > 0;) {
    if (idx.shape[d] == 1) {
      dims[d] = i64(0);
    } else if (d == 0) {
      dims[d] = rest;
    } else {
      dims[d] = b_.CreateURem(rest, i64(idx.shape[d]));
      rest = b_.CreateUDiv(rest, i64(idx.shape[d]));
    }
  }
  return dims;
}

llvm::Value *KernelEmitter::linearOf(const IrIndex &idx) {
  if (idx.linear) return idx.linear;
  DL_ASSERT(idx.dims.size() == idx.shape.size(), "index rank differs from its shape");
  const std::vector<int64_t> strides = rowMajorStrides(idx.shape);
  llvm::Value *lin = nullptr;
  for (size_t d = 0; d < idx.dims.size(); ++d) {
    if (idx.shape[d] == 1) continue;  // the index is 0 there
    llvm::Value *term = strides[d] == 1 ? idx.dims[d] : b_.CreateMul(idx.dims[d], i64(strides[d]), "", true, true);
    lin = lin ? b_.CreateAdd(lin, term, "", true, true) : term;
  }
  return lin ? lin : i64(0);
}

llvm::Value *KernelEmitter::elementPtr(const Value *v, const IrIndex &idx) {
  auto it = buffers_.find(v);
  DL_ASSERT(it != buffers_.end(), "value is not a buffer of this kernel");
  return b_.CreateInBoundsGEP(storageType(ctx(), v->dtype()), it->second, linearOf(idx));
}

llvm::Value *KernelEmitter::buffer(const Value *v) {
  auto it = buffers_.find(v);
  DL_ASSERT(it != buffers_.end(), "value is not a buffer of this kernel");
  return it->second;
}

llvm::Value *KernelEmitter::generate(const Value *v, const IrIndex &idx) {
  if (auto it = memo_.find(v); it != memo_.end()) return it->second;
  if (auto it = rowBuf_.find(v); it != rowBuf_.end()) {
    // A row-buffered member is read at the current parallel index: its position in the
    // row is the linear offset minus the row's base.
    llvm::Type *t = storageType(ctx(), v->dtype());
    llvm::Value *j = b_.CreateSub(linearOf(IrIndex{v->shape(), idx.dims, idx.linear}), rowBase_, "", true, true);
    if (lanes_) j = b_.CreateLShr(j, i64(4));  // this lane's elements only (emitLoopBody)
    return b_.CreateLoad(t, b_.CreateInBoundsGEP(t, it->second, j));
  }
  if (auto it = inGroup_.find(v); it != inGroup_.end()) return generateNode(*it->second, idx);
  if (!preloaded_.empty() && idx.linear)
    if (auto it = preloaded_.find({v, idx.linear}); it != preloaded_.end()) return it->second;
  return b_.CreateLoad(storageType(ctx(), v->dtype()), elementPtr(v, idx));
}

// --- Control flow ----------------------------------------------------------------------

void KernelEmitter::forLoop(llvm::Value *lo, llvm::Value *hi, const std::function<void(llvm::Value *)> &body,
                            bool vectorize, const llvm::Twine &name, const LoopHints &hints) {
  llvm::LLVMContext &c = ctx();
  const std::string base = name.str();
  llvm::BasicBlock *pre = b_.GetInsertBlock();
  llvm::BasicBlock *bodyBB = llvm::BasicBlock::Create(c, base + ".loop", fn_);
  llvm::BasicBlock *exitBB = llvm::BasicBlock::Create(c, base + ".exit");
  b_.CreateCondBr(b_.CreateICmpSLT(lo, hi), bodyBB, exitBB);

  b_.SetInsertPoint(bodyBB);
  llvm::PHINode *iv = b_.CreatePHI(b_.getInt64Ty(), 2, base);
  iv->addIncoming(lo, pre);
  const int loopsBefore = loopCount_;
  body(iv);
  const bool innermost = loopCount_ == loopsBefore;
  ++loopCount_;
  llvm::Value *next = b_.CreateAdd(iv, i64(1), base + ".next", true, true);
  llvm::BranchInst *br = b_.CreateCondBr(b_.CreateICmpSLT(next, hi), bodyBB, exitBB);
  iv->addIncoming(next, b_.GetInsertBlock());
  if (vectorize && innermost) {
    // !{!self, !{!"llvm.loop.vectorize.enable", i1 true}}: vectorize at the target's width.
    llvm::Metadata *enable[] = {llvm::MDString::get(c, "llvm.loop.vectorize.enable"),
                                llvm::ConstantAsMetadata::get(b_.getTrue())};
    std::vector<llvm::Metadata *> ops = {nullptr, llvm::MDNode::get(c, enable)};
    auto count = [&](const char *key, int n) {
      ops.push_back(llvm::MDNode::get(c, {llvm::MDString::get(c, key),
                                          llvm::ConstantAsMetadata::get(b_.getInt32(static_cast<uint32_t>(n)))}));
    };
    if (!hints.unroll) {
      ops.push_back(llvm::MDNode::get(c, {llvm::MDString::get(c, "llvm.loop.unroll.disable")}));
      llvm::Metadata *full = llvm::MDNode::get(c, {llvm::MDString::get(c, "llvm.loop.unroll.full")});
      ops.push_back(llvm::MDNode::get(c, {llvm::MDString::get(c, "llvm.loop.vectorize.followup_vectorized"), full}));
    }
    if (hints.interleave > 1) count("llvm.loop.interleave.count", hints.interleave);
    if (hints.width > 0) count("llvm.loop.vectorize.width", hints.width);
    if (foldTails_ || hints.foldTail)  // one masked vector loop: no vector epilogue, no scalar remainder
      ops.push_back(llvm::MDNode::get(c, {llvm::MDString::get(c, "llvm.loop.vectorize.predicate.enable"),
                                          llvm::ConstantAsMetadata::get(b_.getTrue())}));
    llvm::MDNode *loopId = llvm::MDNode::getDistinct(c, ops);
    loopId->replaceOperandWith(0, loopId);
    br->setMetadata(llvm::LLVMContext::MD_loop, loopId);
  }
  exitBB->insertInto(fn_);
  b_.SetInsertPoint(exitBB);
}

void KernelEmitter::forLaneStride(int64_t n, const std::function<void(llvm::Value *)> &body, const llvm::Twine &name) {
  static_assert(kReduceLanes == 16, "the shifts below divide by 16");
  // (n - lane + 15) / 16 iterations, i = lane + 16 t.
  llvm::Value *trips = b_.CreateLShr(b_.CreateSub(i64(n + kReduceLanes - 1), lane_), i64(4));
  forLoop(i64(0), trips, [&](llvm::Value *t) {
    body(b_.CreateAdd(lane_, b_.CreateShl(t, i64(4), "", true, true), "", true, true));
  }, false, name);
}

void KernelEmitter::forNest(const std::vector<int64_t> &extents,
                            const std::function<void(const std::vector<llvm::Value *> &)> &body) {
  std::vector<llvm::Value *> ivs;
  std::function<void(size_t)> rec = [&](size_t d) {
    if (d == extents.size()) {
      body(ivs);
      return;
    }
    forLoop(i64(0), i64(extents[d]), [&](llvm::Value *iv) {
      ivs.push_back(iv);
      rec(d + 1);
      ivs.pop_back();
    }, false, fmt::format("r{}", d));
  };
  rec(0);
}

void KernelEmitter::ifThen(llvm::Value *cond, const std::function<void()> &then) {
  llvm::BasicBlock *thenBB = llvm::BasicBlock::Create(ctx(), "then", fn_);
  llvm::BasicBlock *mergeBB = llvm::BasicBlock::Create(ctx(), "endif");
  b_.CreateCondBr(cond, thenBB, mergeBB);
  b_.SetInsertPoint(thenBB);
  then();
  b_.CreateBr(mergeBB);
  mergeBB->insertInto(fn_);
  b_.SetInsertPoint(mergeBB);
}

llvm::AllocaInst *KernelEmitter::entryAlloca(llvm::Type *t, const llvm::Twine &name) {
  llvm::BasicBlock &entry = fn_->getEntryBlock();
  llvm::IRBuilder<> eb(&entry, entry.begin());
  return eb.CreateAlloca(t, nullptr, name);
}

// --- Elemental dispatch ----------------------------------------------------------------

llvm::Value *KernelEmitter::generateNode(const Node &n, const IrIndex &idx) {
  auto elementwise = [&]() {
    std::vector<llvm::Value *> x;
    for (const Value *op : n.operands()) x.push_back(generate(op, IrIndex{op->shape(), idx.dims, idx.linear}));
    ScalarOp op{n.kind(), n.operand(n.numOperands() - 1)->dtype(), n.type().dtype};
    op.math = opts_.math;
    if (n.kind() == OpKind::Compare) op.dir = n.attrsAs<CompareAttrs>().dir;
    return emitScalar(b_, op, x);
  };
  switch (n.kind()) {
  case OpKind::Constant: {
    const std::vector<double> &values = n.attrsAs<ConstantAttrs>().values;
    const DType dt = n.type().dtype;
    if (values.size() == 1) return constantOf(ctx(), dt, values[0]);
    std::vector<llvm::Constant *> elems;
    elems.reserve(values.size());
    for (double v : values) elems.push_back(constantOf(ctx(), dt, v));
    auto *arrTy = llvm::ArrayType::get(storageType(ctx(), dt), elems.size());
    auto *g = new llvm::GlobalVariable(m_, arrTy, /*isConstant=*/true, llvm::GlobalValue::PrivateLinkage,
                                       llvm::ConstantArray::get(arrTy, elems), entryName_ + ".data");
    g->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    llvm::Value *p = b_.CreateInBoundsGEP(storageType(ctx(), dt), g, linearOf(idx));
    return b_.CreateLoad(storageType(ctx(), dt), p);
  }
  case OpKind::Iota: {
    llvm::Value *i = dimsOf(idx)[static_cast<size_t>(n.attrsAs<IotaAttrs>().dim)];
    llvm::Type *t = storageType(ctx(), n.type().dtype);
    if (isFloat(n.type().dtype)) return b_.CreateSIToFP(i, t);  // exact below 2^53, like setDouble
    return b_.CreateTrunc(i, t);  // i64: no-op; i32: extents never reach 2^31 in one dim here
  }
  case OpKind::Neg:
  case OpKind::Abs:
  case OpKind::Sign:
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Tanh:
  case OpKind::Sigmoid:
  case OpKind::Sqrt:
  case OpKind::Rsqrt:
  case OpKind::Cast:
  case OpKind::StopGradient:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Max:
  case OpKind::Min:
  case OpKind::Pow:
  case OpKind::Compare:
  case OpKind::Select:
    return elementwise();
  case OpKind::Broadcast: return generateBroadcast(*this, n, idx);
  case OpKind::Reshape: return generateReshape(*this, n, idx);
  case OpKind::Transpose: return generateTranspose(*this, n, idx);
  case OpKind::Slice: return generateSlice(*this, n, idx);
  case OpKind::Concat: return generateConcat(*this, n, idx);
  case OpKind::Pad: return generatePad(*this, n, idx);
  case OpKind::ReduceSum:
  case OpKind::ReduceMax: return generateReduce(*this, n, idx);
  case OpKind::MatMul: return generateMatMul(*this, n, idx);
  case OpKind::Conv2d: return generateConv2d(*this, n, idx);
  case OpKind::Conv2dInputGrad: return generateConv2dInputGrad(*this, n, idx);
  case OpKind::Conv2dFilterGrad: return generateConv2dFilterGrad(*this, n, idx);
  case OpKind::MaxPool2d: return generateMaxPool2d(*this, n, idx);
  case OpKind::MaxPool2dGrad: return generateMaxPool2dGrad(*this, n, idx);
  case OpKind::AvgPool2d: return generateAvgPool2d(*this, n, idx);
  case OpKind::AvgPool2dGrad: return generateAvgPool2dGrad(*this, n, idx);
  case OpKind::OneHot: return generateOneHot(*this, n, idx);
  }
  DL_UNREACHABLE("covered switch");
}

llvm::Function *emitKernel(llvm::Module &m, const KernelSpec &k, const std::string &entryName,
                           const TargetInfo &t, const CodegenOptions &o, LaneGroup *lanes, int64_t flatBlock) {
  if (k.kind == KernelKind::Horizontal) return emitHorizontalKernel(m, k, entryName, t, o);
  KernelEmitter e(m, k, t, o, lanes, flatBlock);
  return e.emit(entryName);
}

}  // namespace dlc::cg
