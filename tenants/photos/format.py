"""What a JPEG or PNG file declares, read from its structure before any pixel is decoded.

Pure: bytes in, facts out. Pillow does not expose what the decoders will allocate, and two
things decide it before a single pixel exists:

- A JPEG that is progressive, or whose first scan carries fewer than all its components, makes
  libjpeg keep every DCT coefficient of the whole picture (64 × 2 bytes per 8×8 block of each
  component) at full size, whatever scale it is decoded at: `JpegLayout.coefficient_bytes`.
  Every scan is one more pass over those blocks, so a few bytes per scan can cost seconds:
  more than MAX_SCANS are refused.
- A PNG's compressed text (zTXt, iTXt) and colour profile (iCCP) are inflated by Pillow as it
  opens the file, up to 64 MB of text from a file of a few kilobytes. `png_pixels_only` keeps
  the chunks that make up the picture and nothing else, so the metadata is never even parsed.

`FormatError` messages are Polish and safe to show.
"""

from __future__ import annotations

import dataclasses
import math
import re
import struct

JPEG_START = b"\xff\xd8\xff"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# SOF0 baseline, SOF1 extended sequential, SOF2 progressive, all Huffman-coded: what cameras, phones and
# every ordinary program write. Lossless, hierarchical and arithmetic-coded JPEGs are refused.
SUPPORTED_SOF = {0xC0: "baseline", 0xC1: "extended", 0xC2: "progressive"}
_ALL_SOF = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # C4 DHT, C8 reserved, CC DAC are not frames
MAX_SCANS = 100  # a progressive JPEG has ~10 scans (libjpeg's default script), mozjpeg's up to ~20
MAX_SEGMENTS = 1000  # markers before the picture; a phone photo has about 10–20
MAX_PNG_CHUNKS = 20_000  # a 15 MB PNG written in 8 KB IDAT chunks (libpng's default) has ~1,900
# The chunks that make up a PNG's picture; eXIf is kept for the orientation (Pillow reads it, raw).
PNG_PICTURE_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"eXIf"}

# The next marker: 0xFF and a code that is not a stuffed zero, a fill byte or a restart marker (RST0–7
# live inside the entropy-coded data). Searched by the regex engine, so scan data is skipped in C.
_MARKER = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")
_STANDALONE = {0x01, 0xD8} | set(range(0xD0, 0xD8))


class FormatError(ValueError):
    """The file's structure is unusable or not supported; the message is Polish."""


CORRUPT = "Nie udało się odczytać zdjęcia — plik jest uszkodzony."
UNSUPPORTED_JPEG = ("Ten rodzaj pliku JPEG nie jest obsługiwany (np. bezstratny, z kodowaniem arytmetycznym albo o "
                    "nietypowej budowie). Zapisz zdjęcie ponownie jako zwykły JPEG, np. w programie do zdjęć "
                    "w telefonie lub komputerze.")
ODD_PNG = "Plik PNG ma nietypową budowę. Zapisz zdjęcie ponownie jako JPEG."


@dataclasses.dataclass(frozen=True)
class JpegLayout:
    """A JPEG's frame as its SOF segment declares it, and how its scans are laid out."""

    width: int
    height: int
    process: str  # "baseline" | "extended" | "progressive"
    sampling: tuple[tuple[int, int], ...]  # (horizontal, vertical) sampling factor per component
    first_scan_components: int
    scans: int

    @property
    def whole_picture_buffered(self) -> bool:
        """libjpeg keeps all coefficients (jdinput.c: progressive, or the first scan lacks a component)."""
        return self.process == "progressive" or self.first_scan_components < len(self.sampling)

    @property
    def coefficient_bytes(self) -> int:
        """What libjpeg allocates for the whole picture's coefficients when it buffers them, else 0."""
        if not self.whole_picture_buffered:
            return 0
        h_max = max(h for h, _v in self.sampling)
        v_max = max(v for _h, v in self.sampling)
        total = 0
        for h, v in self.sampling:
            # Blocks of the component, rounded up to whole MCUs (jdcoefct.c: jround_up to the sampling factor).
            blocks_across = _round_up(math.ceil(math.ceil(self.width * h / h_max) / 8), h)
            blocks_down = _round_up(math.ceil(math.ceil(self.height * v / v_max) / 8), v)
            total += blocks_across * blocks_down * 64 * 2
        return total


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """Every marker of a JPEG as (code, offset of its 0xFF, end of its segment), up to and including EOI.

    A scan's segment ends where its entropy-coded data does. Raises `FormatError` when the file
    is not a JPEG, a segment runs past the end, or there are more than MAX_SEGMENTS + MAX_SCANS.
    """
    if not data.startswith(JPEG_START):
        raise FormatError(CORRUPT)
    found = [(0xD8, 0, 2)]
    pos = 2
    while True:
        marker = _MARKER.search(data, pos)
        if marker is None:
            return found  # cut short before EOI: the decoder will say it is corrupt
        start, code = marker.start(), data[marker.start() + 1]
        if code == 0xD9:
            found.append((code, start, start + 2))
            return found
        if code in _STANDALONE:
            found.append((code, start, start + 2))
            pos = start + 2
        else:
            if start + 4 > len(data):
                raise FormatError(CORRUPT)
            (length,) = struct.unpack_from(">H", data, start + 2)
            end = start + 2 + length
            if length < 2 or end > len(data):
                raise FormatError(CORRUPT)
            found.append((code, start, end))
            pos = end
        if len(found) > MAX_SEGMENTS + MAX_SCANS:
            raise FormatError(UNSUPPORTED_JPEG)


# What a JPEG made from pixels alone holds (tenants.photos.decode.encode_jpeg): SOI, the JFIF APP0, quantisation and
# Huffman tables, restart interval, frame, scans, EOI. No APPn but JFIF, no COM.
_BARE_MARKERS = {0xD8, 0xE0, 0xDB, 0xC4, 0xDD, 0xDA, 0xD9} | set(SUPPORTED_SOF)


def is_bare_jpeg(data: bytes) -> bool:
    """True when the JPEG carries nothing but its picture.

    Only the markers above, APP0 only as JFIF, and nothing after EOI.
    """
    try:
        segments = jpeg_segments(data)
    except FormatError:
        return False
    if segments[-1][0] != 0xD9 or segments[-1][2] != len(data):
        return False
    for code, start, _end in segments:
        if code not in _BARE_MARKERS or (code == 0xE0 and data[start + 4:start + 9] != b"JFIF\x00"):
            return False
    return True


def jpeg_layout(data: bytes) -> JpegLayout:
    """The frame and scan layout of a JPEG; `FormatError` for a variant the product does not decode."""
    frame = None
    first_scan = None
    scans = 0
    for code, start, end in jpeg_segments(data):
        body = data[start + 4:end]
        if code in _ALL_SOF:
            if frame is not None or code not in SUPPORTED_SOF:
                raise FormatError(UNSUPPORTED_JPEG)  # a second frame, or lossless / arithmetic / hierarchical
            if len(body) < 6:
                raise FormatError(CORRUPT)
            precision, height, width, count = body[0], *struct.unpack_from(">HH", body, 1), body[5]
            if precision != 8 or count not in (1, 3, 4) or len(body) < 6 + 3 * count:
                raise FormatError(UNSUPPORTED_JPEG)
            sampling = tuple((body[7 + 3 * i] >> 4, body[7 + 3 * i] & 0x0F) for i in range(count))
            if any(not (1 <= h <= 4 and 1 <= v <= 4) for h, v in sampling):
                raise FormatError(CORRUPT)
            frame = (width, height, SUPPORTED_SOF[code], sampling)
        elif code == 0xDA:
            if frame is None or not body:
                raise FormatError(CORRUPT)
            scans += 1
            if first_scan is None:
                first_scan = body[0]
    if frame is None or first_scan is None:
        raise FormatError(CORRUPT)
    if scans > MAX_SCANS:
        raise FormatError(UNSUPPORTED_JPEG)
    width, height, process, sampling = frame
    return JpegLayout(width=width, height=height, process=process, sampling=sampling,
                      first_scan_components=first_scan, scans=scans)


def png_pixels_only(data: bytes) -> bytes:
    """The PNG rebuilt from the chunks of its picture (PNG_PICTURE_CHUNKS), every other chunk dropped.

    Text (tEXt, zTXt, iTXt), colour profiles, animation frames and private chunks never reach
    the decoder. An eXIf chunk (kept for the orientation) is moved before the pixel data, where
    Pillow reads it while opening the file. Raises `FormatError` for a file that is not a PNG or
    has too many chunks; a chunk cut short is left for the decoder to call corrupt.
    """
    if not data.startswith(PNG_SIGNATURE):
        raise FormatError(CORRUPT)
    view = memoryview(data)
    before, exif, pixels = [view[:8]], [], []
    pos, count = 8, 0
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        count += 1
        if count > MAX_PNG_CHUNKS:
            raise FormatError(ODD_PNG)
        chunk = view[pos:min(end, len(data))]
        if kind == b"eXIf":
            exif = exif or [chunk]
        elif kind in (b"IDAT", b"IEND"):
            pixels.append(chunk)
        elif kind in PNG_PICTURE_CHUNKS and not pixels:
            before.append(chunk)
        if kind == b"IEND":
            break
        pos = end
    return b"".join(before + exif + pixels)
