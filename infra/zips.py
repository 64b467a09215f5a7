"""Opening an uploaded zip without letting its central directory decide how much memory that takes.

`zipfile.ZipFile` reads the whole central directory when it opens an archive and makes one
`ZipInfo` object (a few hundred bytes) per entry it lists: 10 MB of directory is ~200,000 entries
and ~100 MB of objects, a 200 MB upload ~4 million entries, before the caller could count them.
`open_bounded` opens the archive through a view of the file that refuses any single read larger
than `max_directory_bytes` while the archive is being opened (zipfile reads the directory in one
read of its declared size), then lifts the bound so the members can be read in chunks as usual.
"""

from __future__ import annotations

import io
import zipfile
from typing import BinaryIO

# What zipfile raises for an archive it cannot read.
BAD_ZIP = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError)


class DirectoryTooLarge(ValueError):
    """The archive's central directory is bigger than allowed."""


class _BoundedReads:
    """The file-like part zipfile uses (read, seek, tell), refusing big reads while `limit` is set."""

    def __init__(self, source: BinaryIO, limit: int) -> None:
        self._source = source
        self.limit: int | None = limit

    def read(self, size: int | None = -1) -> bytes:
        if self.limit is not None:
            if size is None or size < 0:
                here = self._source.tell()
                wanted = self._source.seek(0, io.SEEK_END) - here
                self._source.seek(here)
            else:
                wanted = size
            if wanted > self.limit:
                raise DirectoryTooLarge()
        return self._source.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._source.seek(offset, whence)

    def tell(self) -> int:
        return self._source.tell()

    def seekable(self) -> bool:
        return True


def open_bounded(source: bytes | BinaryIO, *, max_directory_bytes: int) -> zipfile.ZipFile:
    """`zipfile.ZipFile` over `source` (bytes, shared not copied, or a seekable binary file);
    `DirectoryTooLarge` when opening it would read more than `max_directory_bytes` at once; one of
    `BAD_ZIP` when it is no readable zip. Closing the archive does not close a file passed in."""
    view = _BoundedReads(io.BytesIO(source) if isinstance(source, bytes) else source, max_directory_bytes)
    archive = zipfile.ZipFile(view)  # type: ignore[arg-type]  # zipfile needs only read, seek and tell
    view.limit = None
    return archive
