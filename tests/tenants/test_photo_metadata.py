"""A stored photo carries its pixels and nothing else: no comment, EXIF, XMP, ICC profile or PNG text.

The stored JPEG is checked by walking its markers (a walker written here, independent of the
product's): only SOI, the JFIF APP0, DQT, SOF, DHT, SOS and EOI may be there, the file ends at
EOI, and none of the planted values is anywhere in its bytes.
"""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image
from PIL import ImageCms
from PIL import PngImagePlugin

from tenants.photos.checks import check_photo
from tenants.photos.decode import encode_jpeg
from tenants.photos.format import is_bare_jpeg
from tests.faces import good_photo
from tests.hostile_photos import png_chunk

NAME = "Jan Kowalski, ul. Polna 1, 71-001 Szczecin"
ALLOWED = {0xD8: "SOI", 0xE0: "APP0", 0xDB: "DQT", 0xC0: "SOF0", 0xC4: "DHT", 0xDA: "SOS", 0xD9: "EOI"}


def markers(jpeg: bytes) -> list[tuple[int, bytes]]:
    """(marker, segment body) in file order, skipping each scan's entropy-coded data; asserts the file ends at EOI."""
    assert jpeg[:2] == b"\xff\xd8"
    found, pos = [(0xD8, b"")], 2
    while True:
        assert jpeg[pos] == 0xFF, f"no marker at {pos}"
        code = jpeg[pos + 1]
        if code == 0xD9:
            found.append((code, b""))
            assert pos + 2 == len(jpeg), "bytes after EOI"
            return found
        (length,) = struct.unpack(">H", jpeg[pos + 2:pos + 4])
        found.append((code, jpeg[pos + 4:pos + 2 + length]))
        pos += 2 + length
        if code == 0xDA:  # entropy-coded data: up to the next 0xFF that is not 0xFF00 or a restart marker
            while not (jpeg[pos] == 0xFF and jpeg[pos + 1] not in (0x00, *range(0xD0, 0xD8))):
                pos += 1


def assert_bare(jpeg: bytes) -> None:
    found = markers(jpeg)
    assert {code for code, _body in found} <= set(ALLOWED), [hex(code) for code, _ in found]
    assert [body[:5] for code, body in found if code == 0xE0] in ([], [b"JFIF\x00"])
    for secret in (b"Kowalski", b"Polna", b"Szczecin", b"TestCam", b"SERIAL", b"xmpmeta", b"ICC_PROFILE", b"Exif",
                   b"Photoshop", b"8BIM"):
        assert secret not in jpeg
    assert set(Image.open(io.BytesIO(jpeg)).info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x010E] = NAME  # ImageDescription
    exif[0x013B] = NAME  # Artist
    exif[0xA431] = "SERIAL-12345"  # BodySerialNumber
    exif[0x8825] = {1: "N", 2: (53.0, 25.0, 0.0), 3: "E", 4: (14.0, 33.0, 0.0)}  # GPS
    return exif


def _icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


XMP = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>{NAME}</dc:creator></x:xmpmeta>'.encode()


def jpeg_with(**options) -> bytes:
    out = io.BytesIO()
    good_photo().save(out, "JPEG", quality=90, **options)
    return out.getvalue()


def with_segments(jpeg: bytes, *segments: tuple[int, bytes]) -> bytes:
    """`jpeg` with more segments right after SOI (APP13 Photoshop, APP15, …)."""
    extra = b"".join(bytes([0xFF, code]) + struct.pack(">H", len(body) + 2) + body for code, body in segments)
    return jpeg[:2] + extra + jpeg[2:]


def png_with(*, text: dict[str, str] = (), itxt: dict[str, str] = (), ztxt: dict[str, str] = (),
             extra_chunks: bytes = b"", **options) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in dict(text).items():
        info.add_text(key, value)
    for key, value in dict(itxt).items():
        info.add_itxt(key, value)
    for key, value in dict(ztxt).items():
        info.add_text(key, value, zip=True)
    out = io.BytesIO()
    good_photo().save(out, "PNG", pnginfo=info, **options)
    data = out.getvalue()
    at = data.index(b"IDAT") - 4
    return data[:at] + extra_chunks + data[at:]


UPLOADS = {
    "jpeg-comment": lambda: jpeg_with(comment=NAME.encode()),
    "jpeg-exif-gps": lambda: jpeg_with(exif=_exif()),
    "jpeg-xmp": lambda: jpeg_with(xmp=XMP),
    "jpeg-icc": lambda: jpeg_with(icc_profile=_icc()),
    "jpeg-everything": lambda: with_segments(
        jpeg_with(comment=NAME.encode(), exif=_exif(), xmp=XMP, icc_profile=_icc(), dpi=(300, 300)),
        (0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x20" + NAME.encode()[:32]),  # APP13 IPTC
        (0xEF, NAME.encode()), (0xFE, b"second comment " + NAME.encode())),
    "jpeg-cmyk-adobe": lambda: _cmyk_with_comment(),
    "png-text-comment": lambda: png_with(text={"comment": NAME}),  # Pillow maps this one to a JPEG COM
    "png-text": lambda: png_with(text={"Author": NAME, "Description": NAME}),
    "png-itxt-xmp": lambda: png_with(itxt={"XML:com.adobe.xmp": XMP.decode(), "comment": NAME}),
    "png-ztxt": lambda: png_with(ztxt={"comment": NAME, "Title": NAME}),
    "png-icc-exif": lambda: png_with(icc_profile=_icc(), exif=_exif(), dpi=(300, 300)),
    "png-private-chunk": lambda: png_with(extra_chunks=png_chunk(b"prVt", NAME.encode())),
}


def planted(upload: bytes) -> bool:
    """The metadata is in the upload, as Pillow reads it (zTXt inflated, EXIF parsed) or as raw bytes."""
    image = Image.open(io.BytesIO(upload))
    image.load()
    seen = repr(image.info) + repr(dict(image.getexif())) + repr(upload)
    return NAME in seen or "icc_profile" in image.info


def _cmyk_with_comment() -> bytes:
    out = io.BytesIO()
    good_photo().convert("CMYK").save(out, "JPEG", quality=90, comment=NAME.encode())
    return out.getvalue()


@pytest.mark.parametrize("kind", list(UPLOADS))
def test_the_stored_photo_carries_no_metadata(kind):
    upload = UPLOADS[kind]()
    assert planted(upload)  # the upload does carry it
    stored = check_photo(upload).jpeg
    assert_bare(stored)
    assert Image.open(io.BytesIO(stored)).size == (492, 633)


def test_the_walker_sees_what_it_must_refuse():
    """The marker walk above is the test's instrument: it finds a comment, EXIF and an APP15 when they are there."""
    planted = with_segments(jpeg_with(comment=b"x", exif=_exif()), (0xEF, b"y"))
    assert {0xFE, 0xE1, 0xEF} <= {code for code, _body in markers(planted)}
    with pytest.raises(AssertionError):
        assert_bare(planted)


def test_pixels_that_carry_info_are_encoded_without_it():
    """encode_jpeg ignores whatever `info` an image brings (Pillow would write info["comment"] by default)."""
    image = good_photo().resize((492, 633))
    image.info.update({"comment": NAME.encode(), "exif": _exif().tobytes(), "icc_profile": _icc(), "dpi": (300, 300),
                       "xmp": XMP})
    stored = encode_jpeg(image)
    assert_bare(stored)
    assert is_bare_jpeg(stored)


def test_is_bare_jpeg_tells_a_stored_photo_from_one_with_metadata():
    stored = check_photo(jpeg_with()).jpeg
    assert is_bare_jpeg(stored)
    assert not is_bare_jpeg(jpeg_with(comment=b"x"))
    assert not is_bare_jpeg(jpeg_with(exif=_exif()))
    assert not is_bare_jpeg(stored + b"<html>")
    assert not is_bare_jpeg(with_segments(stored, (0xEF, b"y")))
