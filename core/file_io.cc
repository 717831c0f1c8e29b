#include "core/file_io.h"

#include <fcntl.h>
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
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Status::Error(path + ": is a directory");
  if (fs::exists(path, ec) && !options.force)
    return Status::Error(path + ": exists; pass --force to replace it");
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
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
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
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    std::string err = errno_text();
    ::unlink(temp_path_.c_str());
    return Status::Error(path_ + ": rename failed: " + err);
  }
  return Status::Ok();
}

Status write_file_atomic(const std::string& path, std::string_view data,
                         const WriteOptions& options) {
  AtomicFile file;
  DEEPCOMP_RETURN_IF_ERROR(file.open(path, options));
  DEEPCOMP_RETURN_IF_ERROR(file.write(data));
  return file.commit();
}

}  // namespace deepcomp
