#include "core/file_io.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE (glibc >= 2.28)
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace deepcomp {
namespace fs = std::filesystem;

namespace {

std::string errno_text() { return std::strerror(errno); }

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

const char* kind_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// What is at `path` now, looked up without following a final symlink (lstat), then following it:
// an output may only replace a regular file or a symlink to one; a dangling symlink exists.
Status check_existing_output(const std::string& path, bool force) {
  struct stat lst {};
  if (::lstat(path.c_str(), &lst) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::Error(path + ": " + errno_text());
  }
  struct stat st = lst;
  if (S_ISLNK(lst.st_mode) && ::stat(path.c_str(), &st) != 0)
    return Status::Error(path + ": is a dangling symbolic link; refusing to replace it");
  if (!S_ISREG(st.st_mode))
    return Status::Error(path + ": is " + kind_name(st.st_mode) +
                         (S_ISLNK(lst.st_mode) ? " (through a symbolic link)" : "") +
                         "; outputs may only replace regular files");
  if (!force) return Status::Error(path + ": exists; pass --force to replace it");
  return Status::Ok();
}

// Publishes `temp` as `path` only if `path` does not exist, atomically: renameat2 with
// RENAME_NOREPLACE, or link()+unlink() on filesystems that refuse the flag. Two writers racing to
// one new output: exactly one wins, the other gets EEXIST.
Status publish_no_replace(const std::string& temp, const std::string& path) {
  if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0)
    return Status::Ok();
  if (errno == EEXIST) return Status::Error(path + ": exists; pass --force to replace it");
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
    return Status::Error(path + ": rename failed: " + errno_text());
  if (::link(temp.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) return Status::Error(path + ": exists; pass --force to replace it");
    return Status::Error(
        path + ": cannot publish without replacing (rename and link refused): " + errno_text());
  }
  ::unlink(temp.c_str());
  return Status::Ok();
}

}  // namespace

Result<std::string> read_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::Error(path + ": " + errno_text());
  if (S_ISDIR(st.st_mode)) return Status::Error(path + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(path + ": cannot open: " + errno_text());
  std::string data;
  data.resize(static_cast<size_t>(st.st_size));
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (in.gcount() != static_cast<std::streamsize>(data.size()))
    return Status::Error(path + ": read failed");
  return data;
}

Status check_output_path(const std::string& path, const WriteOptions& options) {
  if (path.empty()) return Status::Error("output path is empty");
  for (const std::string& input : options.inputs) {
    if (same_file(path, input))
      return Status::Error(path + ": output would overwrite the input; choose another path");
  }
  DEEPCOMP_RETURN_IF_ERROR(check_existing_output(path, options.force));
  std::error_code ec;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec))
    return Status::Error(path + ": folder " + parent.string() + " does not exist");
  return Status::Ok();
}

Status check_outputs(const std::vector<std::string>& files, const std::vector<std::string>& dirs,
                     const WriteOptions& options) {
  WriteOptions checked = options;  // outputs already checked join the inputs: no two may clash
  for (const std::string& path : files) {
    DEEPCOMP_RETURN_IF_ERROR(check_output_path(path, checked));
    checked.inputs.push_back(path);
  }
  for (const std::string& dir : dirs) {
    if (dir.empty()) return Status::Error("output folder path is empty");
    for (const std::string& other : checked.inputs) {
      if (same_file(dir, other))
        return Status::Error(dir + ": output folder would overwrite an input or another output");
    }
    std::error_code ec;
    struct stat lst {};
    if (::lstat(dir.c_str(), &lst) == 0 && !fs::is_directory(dir, ec))
      return Status::Error(dir + ": exists and is not a folder");
    checked.inputs.push_back(dir);
  }
  return Status::Ok();
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_path_.c_str());
  }
}

Status AtomicFile::open(const std::string& path, const WriteOptions& options) {
  DEEPCOMP_RETURN_IF_ERROR(check_output_path(path, options));
  path_ = path;
  force_ = options.force;
  std::random_device rd;
  for (int attempt = 0; attempt < 16; ++attempt) {
    temp_path_ = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd() % 1000000);
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ >= 0) return Status::Ok();
    if (errno != EEXIST) break;
  }
  return Status::Error(path + ": cannot create temporary file: " + errno_text());
}

Status AtomicFile::write(std::string_view data) {
  if (fd_ < 0) return Status::Error(path_ + ": not open");
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Error(path_ + ": write failed: " + errno_text());
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status AtomicFile::commit() {
  if (fd_ < 0) return Status::Error(path_ + ": not open");
  if (::fsync(fd_) != 0) return Status::Error(path_ + ": fsync failed: " + errno_text());
  if (::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(temp_path_.c_str());
    return Status::Error(path_ + ": close failed: " + errno_text());
  }
  fd_ = -1;
  // Checked again at publish time: the path may have changed since open().
  Status st = check_existing_output(path_, force_);
  if (st.ok()) {
    if (!force_) {
      st = publish_no_replace(temp_path_, path_);
    } else if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
      st = Status::Error(path_ + ": rename failed: " + errno_text());
    }
  }
  if (!st.ok()) ::unlink(temp_path_.c_str());
  return st;
}

Status write_file_atomic(const std::string& path, std::string_view data,
                         const WriteOptions& options) {
  AtomicFile file;
  DEEPCOMP_RETURN_IF_ERROR(file.open(path, options));
  DEEPCOMP_RETURN_IF_ERROR(file.write(data));
  return file.commit();
}

}  // namespace deepcomp
