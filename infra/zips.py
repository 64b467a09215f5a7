"""Opening an uploaded zip without letting its central directory decide how much memory that takes.

`zipfile.ZipFile` reads the whole central directory when it opens an archive and makes one
`ZipInfo` object (a few hundred bytes) per entry it lists; 10 MB of directory is ~200,000 entries
and ~100 MB of objects before the caller could count them. `open_bounded` opens the archive over a
buffer that refuses any single read larger than `max_directory_bytes` while the archive is being
opened (zipfile reads the directory in one read of its declared size), then lifts the bound so the
members can be read in chunks as usual.
"""

from __future__ import annotations

import io
import zipfile

# What zipfile raises for an archive it cannot read.
BAD_ZIP = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError)


class DirectoryTooLarge(ValueError):
    """The archive's central directory is bigger than allowed."""


class _BoundedReads(io.BytesIO):
    def __init__(self, data: bytes, limit: int) -> None:
        super().__init__(data)  # shares `data` (no copy) as long as nothing writes
        self.size = len(data)
        self.limit: int | None = limit

    def read(self, size: int | None = -1) -> bytes:
        if self.limit is not None:
            wanted = self.size - self.tell() if size is None or size < 0 else size
            if wanted > self.limit:
                raise DirectoryTooLarge()
        return super().read(size)


def open_bounded(data: bytes, *, max_directory_bytes: int) -> zipfile.ZipFile:
    """`zipfile.ZipFile` over `data`; `DirectoryTooLarge` when opening it would read more than
    `max_directory_bytes` at once; one of `BAD_ZIP` when it is no readable zip."""
    buffer = _BoundedReads(data, max_directory_bytes)
    archive = zipfile.ZipFile(buffer)
    buffer.limit = None
    return archive
