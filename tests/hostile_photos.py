"""Hostile and extreme photo files, made byte by byte so that they are small however many pixels they declare.

A PNG here is written directly (IHDR, zlib-compressed rows of zeros, IEND): a 40-megapixel
picture takes a few kilobytes, as an attacker's would, and nothing large is ever kept on disk
or built in memory by the test. Every file is a valid image: the same builders at a small
size decode (see tests/tenants/test_photo_memory.py).
"""

from __future__ import annotations

import contextlib
import io
import zlib
from pathlib import Path

from PIL import Image

# Imported before the measurement starts (tests.memory_budget): OpenCV, numpy and Pillow are in every
# serving process already.
from tenants.photos.checks import check_photo
from tenants.photos.decode import PhotoError
from tenants.photos.zips import PhotoArchive

# PNG colour types
GREY, RGB, PALETTE, GREY_ALPHA, RGBA = 0, 2, 3, 4, 6
_CHANNELS = {GREY: 1, RGB: 3, PALETTE: 1, GREY_ALPHA: 2, RGBA: 4}


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def png_file(width: int, height: int, *, depth: int = 8, colour: int = RGB, before_pixels: bytes = b"",
             after_pixels: bytes = b"") -> bytes:
    """A valid PNG of a black (all-zero) picture, compressed row by row; `before_pixels`/`after_pixels` are chunks."""
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([depth, colour, 0, 0, 0])
    row = bytes(1 + (width * _CHANNELS[colour] * depth + 7) // 8)  # the filter byte, then the packed samples
    compressor = zlib.compressobj(9)
    block = row * 64
    pixels = b"".join(compressor.compress(block) for _ in range(height // 64))
    pixels += compressor.compress(row * (height % 64)) + compressor.flush()
    palette = png_chunk(b"PLTE", bytes(range(256)) * 3) if colour == PALETTE else b""
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + palette + before_pixels
            + png_chunk(b"IDAT", pixels) + after_pixels + png_chunk(b"IEND", b""))


def jpeg_file(width: int, height: int, *, mode: str = "RGB", colour=None, **options) -> bytes:
    """A plain picture as a JPEG (Pillow's encoder; `options` such as progressive=True, subsampling=0, exif=)."""
    image = Image.new(mode, (width, height), colour if colour is not None else (200,) * len(mode))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, **options)
    return out.getvalue()


def declaring(jpeg: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header (SOF) declaring another size: what a decoder would allocate for."""
    at = next(jpeg.index(m) for m in (b"\xff\xc0", b"\xff\xc2") if m in jpeg)
    return jpeg[:at + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + jpeg[at + 9:]


def with_frame_marker(jpeg: bytes, marker: int) -> bytes:
    """The same JPEG declaring another coding process (e.g. 0xC3 lossless, 0xC9 arithmetic) in its SOF."""
    at = jpeg.index(b"\xff\xc0")
    return jpeg[:at + 1] + bytes([marker]) + jpeg[at + 2:]


def text_bomb_png(chunks: int = 60) -> bytes:
    """A small PNG with `chunks` zTXt chunks, each inflating to 1 MB: Pillow would inflate them all on open."""
    inflating = b"".join(png_chunk(b"zTXt", b"note%d\x00\x00" % i + zlib.compress(b"a" * (1024 * 1024 - 1), 9))
                         for i in range(chunks))
    return png_file(600, 800, before_pixels=inflating)


# Refused before anything is decoded, each with the start of its Polish message.
REFUSED = {
    "1x3000.jpg": (lambda: jpeg_file(1, 3000), "Zdjęcie ma tylko 1×3000 px"),
    "3000x1.jpg": (lambda: jpeg_file(3000, 1), "Zdjęcie ma tylko 3000×1 px"),
    "panorama.jpg": (lambda: jpeg_file(4000, 1000), "Zdjęcie ma nietypowe proporcje (4000×1000 px)"),
    # The attacker's file: 15 KB, 39.7 megapixels of 1-bit grey (+180 MB a request before).
    "1bit-40mp.png": (lambda: png_file(6300, 6300, depth=1, colour=GREY), "Zdjęcie ma zbyt wiele pikseli, by je"),
    "rgb-40mp.png": (lambda: png_file(6300, 6300), "Zdjęcie ma zbyt wiele pikseli, by je"),
    "rgba-12mp.png": (lambda: png_file(3000, 4000, colour=RGBA), "Zdjęcie ma zbyt wiele pikseli, by je"),
    "1bit-400mp.png": (lambda: png_file(20_000, 20_000, depth=1, colour=GREY), "Zdjęcie ma zbyt wiele pikseli"),
    "progressive-40mp.jpg": (lambda: declaring(jpeg_file(800, 500, progressive=True), 8000, 5000),
                             "Zdjęcie ma zbyt wiele pikseli, by je"),
    "72mp.jpg": (lambda: declaring(jpeg_file(900, 800), 9000, 8000), "Zdjęcie ma zbyt wiele pikseli (9000×8000 px)"),
    "lossless.jpg": (lambda: with_frame_marker(jpeg_file(600, 800), 0xC3), "Ten rodzaj pliku JPEG"),
    "arithmetic.jpg": (lambda: with_frame_marker(jpeg_file(600, 800), 0xC9), "Ten rodzaj pliku JPEG"),
}


# Targets of `tests.memory_budget.grown`: each reads its file in the measured process.


def check_file(path: str) -> dict:
    """A photo checked as an upload is: refused (the Polish message), or what the checks found."""
    try:
        result = check_photo(Path(path).read_bytes())
    except PhotoError as err:
        return {"refused": str(err)}
    return {"refused": None, "face_found": result.face_found, "findings": [f.code for f in result.findings]}


def check_zip(path: str) -> dict:
    """Every file of a photo ZIP on disk checked one at a time, as the ZIP job does."""
    files = 0
    with open(path, "rb") as archive:
        for entry in PhotoArchive(archive).entries():
            files += 1
            with contextlib.suppress(PhotoError):  # a refused file is the job's per-file answer
                check_photo(entry.data)
    return {"refused": None, "files": files}
