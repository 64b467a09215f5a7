"""The PDF file format at its lowest level, for the card renderer (printing.render): numbers and
colours in content streams, numbered objects and the cross-reference table, a font's ToUnicode
map, and photos as JPEG image objects."""

from __future__ import annotations

import functools
import io
import zlib


def num(value: float) -> str:
    """A number for a content stream: at most 3 decimals (1/1000 pt), no exponent."""
    if value == int(value):
        return str(int(value))
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


@functools.cache
def rgb(color: tuple[int, int, int], stroke: bool = False) -> str:
    r, g, b = (num(c / 255) for c in color)
    return f"{r} {g} {b} {'RG' if stroke else 'rg'}"


class Writer:
    """A minimal PDF 1.7 writer: numbered objects, one cross-reference table. An object is kept as
    its pieces, so that a photo's JPEG bytes are copied once, into the finished file."""

    def __init__(self):
        self.objects: list[tuple[bytes, ...] | None] = [None]

    def reserve(self) -> int:
        self.objects.append(None)
        return len(self.objects) - 1

    def put(self, number: int, *pieces: bytes) -> int:
        self.objects[number] = pieces
        return number

    def add(self, data: bytes | str) -> int:
        return self.put(self.reserve(), data.encode() if isinstance(data, str) else data)

    def add_stream(self, entries: str, data: bytes, *, compress: bool = True) -> int:
        if compress:
            data = zlib.compress(data, 6)
            entries += " /Filter /FlateDecode"
        return self.put(self.reserve(), b"<<%s /Length %d>>\nstream\n" % (entries.encode(), len(data)), data,
                        b"\nendstream")

    def output(self, root: int, info: int) -> bytes:
        parts = [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"]
        offsets = []
        position = len(parts[0])
        for number, pieces in enumerate(self.objects[1:], start=1):
            head, tail = b"%d 0 obj\n" % number, b"\nendobj\n"
            offsets.append(position)
            parts += (head, *pieces, tail)
            position += len(head) + sum(len(piece) for piece in pieces) + len(tail)
        parts.append(b"xref\n0 %d\n0000000000 65535 f \n" % len(self.objects))
        parts += [b"%010d 00000 n \n" % offset for offset in offsets]
        parts.append(b"trailer\n<</Size %d /Root %d 0 R /Info %d 0 R>>\nstartxref\n%d\n%%%%EOF\n"
                     % (len(self.objects), root, info, position))
        return b"".join(parts)



def to_unicode(used: dict[int, str]) -> str:
    entries = sorted(used.items())
    body = []
    for start in range(0, len(entries), 100):
        chunk = entries[start:start + 100]
        body.append(f"{len(chunk)} beginbfchar")
        body += [f"<{g:04x}> <{''.join(f'{u:04x}' for u in _utf16(char))}>" for g, char in chunk]
        body.append("endbfchar")
    return ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            "/CIDSystemInfo <</Registry (Adobe) /Ordering (UCS) /Supplement 0>> def\n"
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
            "1 begincodespacerange <0000> <ffff> endcodespacerange\n" + "\n".join(body) +
            "\nendcmap CMapName currentdict /CMap defineresource pop end end")


def _utf16(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]


def jpeg_image(data: bytes) -> tuple[bytes, int, int, str]:
    """(JPEG bytes, width, height, colour space). Stored photos are bare RGB JPEGs made from pixels alone
    (tenants.photos.decode.encode_jpeg) and pass through unchanged; anything else (another format, CMYK, an EXIF
    rotation, or a JPEG carrying any metadata at all: a comment, EXIF, ICC, XMP) is re-encoded once from its
    pixels, so nothing but the picture reaches a print file."""
    from PIL import Image
    from PIL import ImageOps

    from tenants.photos.decode import encode_jpeg
    from tenants.photos.format import is_bare_jpeg

    with Image.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as img:
        if img.format == "JPEG" and img.mode in ("RGB", "L") and is_bare_jpeg(data):
            return data, img.width, img.height, "DeviceRGB" if img.mode == "RGB" else "DeviceGray"
        fixed = ImageOps.exif_transpose(img).convert("RGB")
    return encode_jpeg(fixed, quality=92), fixed.width, fixed.height, "DeviceRGB"
