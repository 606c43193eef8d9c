//===- tools/cmd_mem.cpp - `dlc mem`: the memory plan of a function ----------===//
//
//   dlc mem FILE [--function=NAME] [--unfused] [--no-in-place] [--no-donate]
//
// Plans the kernels and buffers of a function exactly as Executable::compile does
// (codegen/kernel_plan.h, runtime/buffer_plan.h) and prints the plan before anything is
// compiled or run: the arena size, the peak of live bytes and the kernel where it
// occurs, the buffers live there, the in-place decisions, and the arena layout (offset,
// size, live range in kernels, values).
//
//===----------------------------------------------------------------------===//
#include "runtime/buffer_plan.h"
#include "tools/tool_support.h"

namespace dlc::tool {

namespace cl = llvm::cl;

cl::SubCommand memCommand("mem", "Print the memory plan of a function: peak, live buffers, arena layout");

namespace {
cl::opt<std::string> inputPath(cl::Positional, cl::Required, cl::desc("<input .dlc file, or - for stdin>"),
                               cl::sub(memCommand), cl::cat(dlcCategory()));
cl::opt<std::string> functionName("function", cl::desc("The function to plan (default: the first)"),
                                  cl::value_desc("name"), cl::sub(memCommand), cl::cat(dlcCategory()));
cl::opt<bool> unfused("unfused", cl::desc("Plan one kernel per IR op (no fusion)"), cl::sub(memCommand),
                      cl::cat(dlcCategory()));
cl::opt<bool> noInPlace("no-in-place", cl::desc("Never write an output over a dead input"), cl::sub(memCommand),
                        cl::cat(dlcCategory()));
cl::opt<bool> noDonate("no-donate", cl::desc("Never write a result into its donated argument"),
                       cl::sub(memCommand), cl::cat(dlcCategory()));
}  // namespace

int runMem() {
  std::optional<LoadedModule> input = loadModule(inputPath);
  if (!input) return 1;
  const Module &m = input->module;
  const Function *f = functionName.empty() ? (m.functions().empty() ? nullptr : m.functions().front().get())
                                           : m.lookup(functionName);
  if (!f) {
    llvm::errs() << "dlc mem: error: no function " << (functionName.empty() ? "" : "@" + functionName) << " in "
                 << input->source.name << "\n";
    return 1;
  }
  KernelPlanOptions po;
  po.fuse = !unfused;
  const KernelPlan plan = planKernels(*f, po);
  ArenaOptions ao;
  ao.inPlace = !noInPlace;
  ao.donate = !noDonate;
  llvm::outs() << describeBufferPlan(*f, plan, planArena(*f, plan, ao));
  return 0;
}

}  // namespace dlc::tool
