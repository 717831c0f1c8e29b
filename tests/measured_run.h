// Running the deepcomp binary in a child process and reading the child's own peak RSS from
// wait4, for the tests that hold a command to a memory bound (decompression bombs, .dcz runs).
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace deepcomp::testing {

struct MeasuredRun {
  int exit_code = -1;
  std::string err;  // stderr (stdout is discarded)
  long max_rss_kb = 0;
  double seconds = 0;
};

// Runs deepcomp with `args` (no shell), `env` ("NAME=VALUE") added to its environment.
inline MeasuredRun run_deepcomp_measured(const std::vector<std::string>& args,
                                         const std::vector<std::string>& env = {}) {
  const std::string err_path = temp_dir() + "/stderr.txt";
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<std::string> argv_s = {deepcomp_binary()};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  MeasuredRun m;
  int status = 0;
  struct rusage ru {};
  ::wait4(pid, &status, 0, &ru);
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  m.max_rss_kb = ru.ru_maxrss;
  m.err = read_text(err_path);
  return m;
}

}  // namespace deepcomp::testing
