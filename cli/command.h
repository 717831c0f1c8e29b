// The CLI's plumbing: every command lives in its own cli/cmd_*.cc and registers itself here with a
// static DEEPCOMP_REGISTER_COMMAND, so adding a command touches no other file. Its setup function
// is named setup_NAME (cmd_NAME.cc): the CLI is a unity build, where the files of a batch share
// one translation unit and their file-local names must differ.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "toolkit/terminal.h"

namespace deepcomp::cli {

struct CommandSpec {
  std::string name;
  int order = 100;  // position in --help
  // Adds the subcommand and its options to `app`; returns the action to run when it is chosen.
  // The action returns the process exit code (0 ok, 1 failure); errors are printed by the action
  // with print_error().
  std::function<std::function<int()>(CLI::App& app)> setup;
};

std::vector<CommandSpec>& command_registry();

struct CommandRegistrar {
  explicit CommandRegistrar(CommandSpec spec) { command_registry().push_back(std::move(spec)); }
};

// Prints "deepcomp: MESSAGE" on one line to stderr and returns 1.
int print_error(const Status& status);
int print_error(const std::string& message);

}  // namespace deepcomp::cli

#define DEEPCOMP_REGISTER_COMMAND(var, ...) \
  static ::deepcomp::cli::CommandRegistrar var(::deepcomp::cli::CommandSpec{__VA_ARGS__})
