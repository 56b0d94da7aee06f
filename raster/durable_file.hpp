// Power-loss durability of files renamed into place: sync a file's data before its rename and the
// folder after it, so a crash leaves either the old file or the complete new one under the name.
#pragma once

#include <string>

namespace qinling::raster {

// fdatasync of `path`'s contents; throws ProcessingError naming the file when the data may be lost
// (EIO, ENOSPC...). Call before renaming a finished temporary file into place.
void sync_file(const std::string& path);

// fsync of the folder `dir`, making the renames and unlinks in it durable. Best effort: file systems
// that cannot sync a folder (EINVAL) are accepted; a failed open or I/O error throws ProcessingError.
void sync_directory(const std::string& dir);

// syncfs of the file system holding `path`: one call that flushes a folder of many files (tiles)
// where an fsync per file would cost a disk round trip each. Throws ProcessingError on failure.
void sync_filesystem(const std::string& path);

// The folder holding `path` (what to sync after renaming `path`).
std::string parent_directory(const std::string& path);

}  // namespace qinling::raster
