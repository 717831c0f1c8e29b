#include "tests/test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace deepcomp::testing {
namespace fs = std::filesystem;

std::string shared_dir() {
  std::error_code ec;
  const fs::path p = DEEPCOMP_SHARED_DIR;
  if (fs::is_directory(p / "models", ec)) return fs::canonical(p, ec).string();
  return "";
}

std::string source_dir() { return DEEPCOMP_SOURCE_DIR; }

// DEEPCOMP_TEST_BINARY overrides the build's own binary: .ci/run points the CLI tests of the
// Release build at the sanitized build's deepcomp (README.md, "Sanitizers and fuzzing in CI").
std::string deepcomp_binary() {
  const char* other = std::getenv("DEEPCOMP_TEST_BINARY");
  return other && *other ? other : DEEPCOMP_BINARY;
}

namespace {
struct TempRoot {
  fs::path path;
  TempRoot() {
    std::string tmpl = (fs::temp_directory_path() / "deepcomp_test_XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    path = made ? fs::path(made) : fs::temp_directory_path();
  }
  ~TempRoot() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};
}  // namespace

std::string temp_dir() {
  static TempRoot root;
  static int counter = 0;
  fs::path dir = root.path / ("t" + std::to_string(counter++));
  fs::create_directories(dir);
  return dir.string();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

CommandResult run_command(const std::string& command_line) {
  const std::string dir = temp_dir();
  const std::string out_path = dir + "/stdout", err_path = dir + "/stderr";
  const std::string full = command_line + " >" + out_path + " 2>" + err_path + " </dev/null";
  int status = std::system(full.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_text(out_path);
  result.err = read_text(err_path);
  return result;
}

CommandResult run_deepcomp(const std::string& args) {
  return run_command("'" + deepcomp_binary() + "' " + args);
}

}  // namespace deepcomp::testing
