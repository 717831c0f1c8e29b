// Publishing outputs (core/file_io): no-replace without force even when two processes race to one
// new path, special files (FIFO, character device, directory, dangling symlink) never replaced,
// and nothing temporary left behind.
#include "core/file_io.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/test_util.h"

namespace deepcomp {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::temp_dir;
using testing::write_text;

size_t entries(const std::string& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}));
}

WriteOptions with_force(bool force) {
  WriteOptions w;
  w.force = force;
  return w;
}

// Two forked writers released together by one pipe write, each publishing its own content to the
// same new path without force, 20 times: exactly one exits 0, the file holds that one's content
// in full, and the folder holds only that file.
TEST(FileIoPublish, TwoWritersRacingToOneNewPathExactlyOneWins) {
  for (int round = 0; round < 20; ++round) {
    const std::string dir = temp_dir();
    const std::string path = dir + "/out.bin";
    const std::string content[2] = {std::string(1 << 16, 'A'), std::string(1 << 16, 'B')};
    int go[2];
    ASSERT_EQ(::pipe(go), 0);
    pid_t pids[2];
    for (int w = 0; w < 2; ++w) {
      pids[w] = ::fork();
      ASSERT_GE(pids[w], 0);
      if (pids[w] == 0) {
        ::close(go[1]);
        char c;
        if (::read(go[0], &c, 1) != 1) ::_exit(3);
        ::_exit(write_file_atomic(path, content[w], WriteOptions{}).ok() ? 0 : 1);
      }
    }
    ::close(go[0]);
    ASSERT_EQ(::write(go[1], "gg", 2), 2);  // both readers wake at once
    ::close(go[1]);
    int exit_code[2];
    for (int w = 0; w < 2; ++w) {
      int status = 0;
      ASSERT_EQ(::waitpid(pids[w], &status, 0), pids[w]);
      ASSERT_TRUE(WIFEXITED(status));
      exit_code[w] = WEXITSTATUS(status);
    }
    ASSERT_EQ((exit_code[0] == 0) + (exit_code[1] == 0), 1)
        << "round " << round << ": exit codes " << exit_code[0] << ", " << exit_code[1];
    const int winner = exit_code[0] == 0 ? 0 : 1;
    EXPECT_EQ(exit_code[1 - winner], 1);
    EXPECT_EQ(read_text(path), content[winner]) << "round " << round;
    EXPECT_EQ(entries(dir), 1u) << "a temporary file was left, round " << round;
  }
}

TEST(FileIoPublish, ExistingRegularFileNeedsForce) {
  const std::string path = temp_dir() + "/old.bin";
  write_text(path, "old");
  Status s = write_file_atomic(path, "new", with_force(false));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("exists; pass --force"), std::string::npos) << s.message();
  EXPECT_EQ(read_text(path), "old");
  ASSERT_TRUE(write_file_atomic(path, "new", with_force(true)).ok());
  EXPECT_EQ(read_text(path), "new");
}

TEST(FileIoPublish, FifoIsRefusedEvenWithForceAndStaysAFifo) {
  const std::string dir = temp_dir();
  const std::string path = dir + "/pipe";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  for (bool force : {false, true}) {
    Status s = write_file_atomic(path, "data", with_force(force));
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("is a FIFO"), std::string::npos) << s.message();
    EXPECT_EQ(s.message().rfind(path, 0), 0u) << "error must start with the path: " << s.message();
    EXPECT_TRUE(fs::is_fifo(path));
    EXPECT_EQ(entries(dir), 1u);
  }
}

TEST(FileIoPublish, DevNullIsRefusedWithForceAndUntouched) {
  struct stat before {};
  ASSERT_EQ(::stat("/dev/null", &before), 0);
  ASSERT_TRUE(S_ISCHR(before.st_mode));
  Status s = write_file_atomic("/dev/null", "data", with_force(true));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("is a character device"), std::string::npos) << s.message();
  struct stat after {};
  ASSERT_EQ(::stat("/dev/null", &after), 0);
  EXPECT_TRUE(S_ISCHR(after.st_mode));
  EXPECT_EQ(after.st_rdev, before.st_rdev);
  EXPECT_EQ(after.st_ino, before.st_ino);
}

TEST(FileIoPublish, DanglingSymlinkIsRefusedAndKept) {
  const std::string dir = temp_dir();
  const std::string link = dir + "/out.dcz";
  const std::string target = dir + "/missing_target";
  fs::create_symlink(target, link);
  for (bool force : {false, true}) {
    Status s = write_file_atomic(link, "data", with_force(force));
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("dangling symbolic link"), std::string::npos) << s.message();
    EXPECT_TRUE(fs::is_symlink(link));
    EXPECT_EQ(fs::read_symlink(link), target);
    EXPECT_FALSE(fs::exists(target));
    EXPECT_EQ(entries(dir), 1u);
  }
}

TEST(FileIoPublish, SymlinkToFifoOrDirectoryIsRefusedWithForce) {
  const std::string dir = temp_dir();
  ASSERT_EQ(::mkfifo((dir + "/pipe").c_str(), 0600), 0);
  fs::create_directory(dir + "/sub");
  fs::create_symlink(dir + "/pipe", dir + "/to_pipe");
  fs::create_symlink(dir + "/sub", dir + "/to_sub");
  Status a = write_file_atomic(dir + "/to_pipe", "x", with_force(true));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.message().find("is a FIFO (through a symbolic link)"), std::string::npos)
      << a.message();
  Status b = write_file_atomic(dir + "/to_sub", "x", with_force(true));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("is a directory"), std::string::npos) << b.message();
  EXPECT_TRUE(fs::is_symlink(dir + "/to_pipe"));
  EXPECT_TRUE(fs::is_fifo(dir + "/pipe"));
  EXPECT_TRUE(fs::is_empty(dir + "/sub"));
  EXPECT_EQ(entries(dir), 4u);
}

TEST(FileIoPublish, SymlinkToRegularFileIsReplacedWithForceOnly) {
  const std::string dir = temp_dir();
  write_text(dir + "/real", "old");
  fs::create_symlink(dir + "/real", dir + "/link");
  ASSERT_FALSE(write_file_atomic(dir + "/link", "new", with_force(false)).ok());
  ASSERT_TRUE(write_file_atomic(dir + "/link", "new", with_force(true)).ok());
  EXPECT_EQ(read_text(dir + "/link"), "new");
}

// The path is checked again at publish time: a FIFO made after open() is not replaced.
TEST(FileIoPublish, FifoAppearingAfterOpenIsNotReplacedAtCommit) {
  const std::string dir = temp_dir();
  const std::string path = dir + "/late";
  AtomicFile f;
  ASSERT_TRUE(f.open(path, with_force(true)).ok());
  ASSERT_TRUE(f.write("data").ok());
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  Status s = f.commit();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("is a FIFO"), std::string::npos) << s.message();
  EXPECT_TRUE(fs::is_fifo(path));
  EXPECT_EQ(entries(dir), 1u);
}

}  // namespace
}  // namespace deepcomp
