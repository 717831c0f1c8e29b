// Helpers shared by the tests: where the shared models/data are (tests skip when absent), the
// deepcomp binary for end-to-end tests, temporary folders, and running a command.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace deepcomp::testing {

// ../shared beside the repository, or "" when it is absent.
std::string shared_dir();
// The project's root folder.
std::string source_dir();
// Path of the built deepcomp executable.
std::string deepcomp_binary();
// A fresh, empty temporary folder, removed at process exit.
std::string temp_dir();

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs a shell command line and captures its output.
CommandResult run_command(const std::string& command_line);
// Runs the deepcomp binary with `args` (already shell-quoted as needed).
CommandResult run_deepcomp(const std::string& args);

std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& data);

}  // namespace deepcomp::testing

// Skips the current test with a reason when ../shared is absent.
#define DEEPCOMP_REQUIRE_SHARED()                                                  \
  do {                                                                             \
    if (::deepcomp::testing::shared_dir().empty())                                 \
      GTEST_SKIP() << "../shared (pretrained models and data) is absent";         \
  } while (0)
