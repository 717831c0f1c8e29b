// Reading whole files with errors that name the file, and writing outputs safely: to a temporary
// file in the destination folder, flushed and renamed, so that a crash or kill leaves either the
// old file or nothing, never a partial one. Depends only on the standard library and POSIX.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace deepcomp {

// Reads a whole regular file. Errors: missing, a directory, unreadable.
Result<std::string> read_file(const std::string& path);

struct WriteOptions {
  bool force = false;  // replace an existing output
  // Paths the output must not be (the inputs): refused even with force.
  std::vector<std::string> inputs;
};

// Checks that `path` may be written: not an input, its folder exists, and nothing is there (lstat:
// a dangling symlink counts as existing) or, with force, a regular file or a symlink to one. A
// directory, FIFO, device or socket (directly or through a symlink) is refused even with force.
Status check_output_path(const std::string& path, const WriteOptions& options);

// Checks every output of a command before it does any work, so that a bad path fails with nothing
// written: each file passes check_output_path; each folder (created later, e.g. a plot folder
// whose files are replaced) is not an input and not an existing file; no two outputs are the same
// path. Errors name the path.
Status check_outputs(const std::vector<std::string>& files, const std::vector<std::string>& dirs,
                     const WriteOptions& options);

// Writes `data` to `path` atomically (temp file in the same folder, fsync, rename). Without force
// the rename is no-replace (renameat2 RENAME_NOREPLACE, else link+unlink), so of two writers racing
// to one new path exactly one succeeds and the other's error says the path exists.
Status write_file_atomic(const std::string& path, std::string_view data,
                         const WriteOptions& options);

// For outputs written in pieces: open() makes the temp file, write() appends, commit() flushes and
// renames; destroying an uncommitted AtomicFile removes the temp file.
class AtomicFile {
 public:
  AtomicFile() = default;
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  Status open(const std::string& path, const WriteOptions& options);
  Status write(std::string_view data);
  Status commit();
  const std::string& temp_path() const { return temp_path_; }

 private:
  std::string path_;
  std::string temp_path_;
  bool force_ = false;
  int fd_ = -1;
};

}  // namespace deepcomp
