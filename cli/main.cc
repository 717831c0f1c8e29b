// deepcomp: Deep Compression for ONNX models. Parses the command line and runs one command.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <stdexcept>

#include "cli/command.h"
#include "kernels/isa.h"

namespace deepcomp::cli {

std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> registry;
  return registry;
}

int print_error(const std::string& message) {
  std::string line = message;
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::fprintf(stderr, "deepcomp: %s\n", line.c_str());
  return 1;
}

int print_error(const Status& status) { return print_error(status.message()); }

}  // namespace deepcomp::cli

int main(int argc, char** argv) {
  using namespace deepcomp::cli;
  CLI::App app{
      "deepcomp: Deep Compression (pruning, weight sharing, Huffman coding) for ONNX models,\n"
      "with a runtime that runs the compressed model on its own sparse kernels.",
      "deepcomp"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "deepcomp 0.1.0");
  app.footer(
      "Run 'deepcomp COMMAND --help' for the options of a command.\n"
      "Environment: DEEPCOMP_MAX_CPU_ISA=avx2|sse4|sse2 runs the kernels' code for that x86\n"
      "instruction set even on a CPU with more (the same results; to measure what other CPUs "
      "run).");

  auto& registry = command_registry();
  std::stable_sort(registry.begin(), registry.end(),
                   [](const CommandSpec& a, const CommandSpec& b) { return a.order < b.order; });
  std::function<int()> action;
  for (const CommandSpec& spec : registry) {
    std::function<int()> run = spec.setup(app);
    CLI::App* sub = app.get_subcommand(spec.name);
    sub->callback([&action, run] { action = run; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    std::fprintf(stderr, "deepcomp: %s (see 'deepcomp --help')\n", msg.c_str());
    return 2;
  }
  if (!action) return 2;
  try {
    deepcomp::kernels::isa();  // a bad DEEPCOMP_MAX_CPU_ISA stops here, before any kernel runs
  } catch (const std::invalid_argument& e) {
    print_error(e.what());
    return 2;
  }
  try {
    return action();
  } catch (const std::bad_alloc&) {
    return print_error("out of memory");
  } catch (const std::exception& e) {
    return print_error(std::string("internal error: ") + e.what());
  }
}
