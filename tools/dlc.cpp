//===- tools/dlc.cpp - the dlc command-line driver ----------------------------===//
//
// `dlc <command> [options] <input>`: the only place in dlc that parses argv. Each
// command lives in tools/cmd_<name>.cpp and is listed in tools/commands.def; this file
// checks the command name, parses the options with llvm::cl and dispatches.
//
//===----------------------------------------------------------------------===//
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/InitLLVM.h>
#include <llvm/Support/raw_ostream.h>

#include "tools/tool_support.h"

namespace dlc::tool {
#define DLC_COMMAND(subCommand, run) \
  extern llvm::cl::SubCommand subCommand; \
  int run();
#include "tools/commands.def"
}  // namespace dlc::tool

namespace {

struct Command {
  llvm::cl::SubCommand *sub;
  int (*run)();
};

const Command kCommands[] = {
#define DLC_COMMAND(subCommand, run) {&dlc::tool::subCommand, dlc::tool::run},
#include "tools/commands.def"
};

std::string commandNames() {
  std::string names;
  for (const Command &c : kCommands) names += (names.empty() ? "" : ", ") + c.sub->getName().str();
  return names;
}

}  // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::SetVersionPrinter([](llvm::raw_ostream &os) { os << "dlc version " DLC_VERSION "\n"; });
  for (llvm::cl::SubCommand *sub : llvm::cl::getRegisteredSubcommands())
    llvm::cl::HideUnrelatedOptions(dlc::tool::dlcCategory(), *sub);

  // llvm::cl would read an unknown command as a stray positional argument; say what it is.
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const Command &c : kCommands) known |= c.sub->getName() == argv[1];
    if (!known) {
      llvm::errs() << "dlc: error: unknown command '" << argv[1] << "'; commands: " << commandNames()
                   << " (see dlc --help)\n";
      return 1;
    }
  }
  llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "dlc - a deep-learning training compiler\n\n"
      "Commands that read IR take a .dlc text file, or - for standard input.\n");
  for (const Command &c : kCommands)
    if (*c.sub) return c.run();
  llvm::errs() << "dlc: error: no command given; commands: " << commandNames() << " (see dlc --help)\n";
  return 1;
}
