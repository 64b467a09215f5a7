"""Photo uploads: JPEG/PNG by content, normalised to 492×633, no metadata, bombs refused (T2.10–T2.12)."""

from __future__ import annotations

import io
import resource
import zlib

import pytest
from PIL import Image

from tenants.photos.decode import PhotoError
from tenants.photos.decode import normalise_photo
from tests.helpers import jpeg
from tests.helpers import png


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_jpeg_is_cropped_to_card_size_and_loses_all_metadata():
    original = jpeg(900, 1200, gps=True)
    assert b"TestCam" in original and opened(original).getexif()
    clean = normalise_photo(original)
    image = opened(clean)
    assert image.format == "JPEG" and image.size == (492, 633)
    assert not image.getexif() and b"Exif" not in clean and b"TestCam" not in clean and b"SERIAL-12345" not in clean
    assert "icc_profile" not in image.info


def test_png_is_accepted_and_re_encoded_as_jpeg():
    assert opened(normalise_photo(png(600, 800))).format == "JPEG"


def test_exif_orientation_is_applied_before_cropping():
    # A landscape sensor image tagged "rotate 90°" is a portrait photo.
    img = Image.new("RGB", (1000, 700), (200, 200, 200))
    img.paste((0, 0, 0), (0, 0, 100, 700))  # a black band on the left edge of the sensor image
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    result = opened(normalise_photo(out.getvalue()))
    # Rotated 90° clockwise, the left band becomes the top: the top row is dark, the bottom light.
    assert result.getpixel((246, 2))[0] < 60 and result.getpixel((246, 630))[0] > 150


@pytest.mark.parametrize("data, message", [
    (b"%PDF-1.7\n1 0 obj<<>>endobj\n", "nie jest zdjęciem"),
    (b"<html><script>alert(1)</script></html>", "nie jest zdjęciem"),
    (b"", "Nie wybrano pliku"),
    (b"GIF89a" + b"\x00" * 100, "nie jest zdjęciem"),
])
def test_non_images_are_refused_with_a_polish_reason(data, message):
    with pytest.raises(PhotoError, match=message):
        normalise_photo(data)


def test_gif_and_tiff_are_refused_even_when_valid_images():
    for fmt in ("GIF", "TIFF", "BMP"):
        out = io.BytesIO()
        Image.new("RGB", (600, 800)).save(out, fmt)
        with pytest.raises(PhotoError):
            normalise_photo(out.getvalue())


def test_too_small_photo_is_refused_with_its_size():
    with pytest.raises(PhotoError, match="200×250"):
        normalise_photo(jpeg(200, 250))


def test_html_appended_to_a_jpeg_does_not_survive():
    polyglot = jpeg() + b"<script>alert('x')</script>"
    assert b"<script>" not in normalise_photo(polyglot)


def png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header for a huge image whose pixel data compresses to almost nothing."""
    def chunk(kind, data):
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    row = b"\x00" + b"\x00" * width
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_without_decoding_it():
    bomb = png_bomb(20_000, 20_000)  # 400 megapixels, 1.2 GB if decoded
    assert len(bomb) < 200_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(PhotoError, match="pikseli|nie jest zdjęciem"):
        normalise_photo(bomb)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50 * 1024  # the picture was never decoded into memory


def test_oversized_file_is_refused_before_decoding():
    with pytest.raises(PhotoError, match="za duży"):
        normalise_photo(b"\xff\xd8" + b"\x00" * (11 * 1024 * 1024))


def _asymmetric(width=300, height=200) -> Image.Image:
    """A picture no turn or flip maps onto itself: a gradient, and a mark near one corner."""
    import numpy as np

    xs, ys = np.meshgrid(np.arange(width), np.arange(height))
    pixels = np.stack([xs * 255 // width, ys * 255 // height, (xs + 2 * ys) % 256], axis=2).astype(np.uint8)
    pixels[10:30, 20:60] = (255, 0, 0)
    return Image.fromarray(pixels)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_region_decodes_to_the_pixels_of_the_upright_photo(orientation):
    """Every EXIF orientation: the whole photo is turned as Pillow's exif_transpose turns it, and a region
    (cut out before turning, to save memory) is exactly that part of the upright photo."""
    import numpy as np
    from PIL import ImageOps

    from tenants.photos.decode import open_photo

    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    _asymmetric().save(out, "PNG", exif=exif)  # lossless, so pixels compare exactly
    photo = open_photo(out.getvalue())
    upright = ImageOps.exif_transpose(opened(out.getvalue())).convert("RGB")
    whole = photo.decode()
    assert photo.size == upright.size and whole.scale == 1 and whole.origin == (0, 0)
    assert np.array_equal(np.asarray(whole.image), np.asarray(upright))
    part = photo.decode(region=(37, 51, 160, 140))
    assert part.origin == (37, 51) and part.scale == 1 and part.image.size == (123, 89)
    assert np.array_equal(np.asarray(part.image), np.asarray(upright.crop((37, 51, 160, 140))))


def test_opening_a_png_reads_no_pixels():
    """Only the structure is read until `decode`: a PNG whose pixel data is garbage opens, and fails to decode."""
    from tenants.photos.decode import open_photo

    good = png(600, 800)
    at = good.index(b"IDAT") + 4
    broken = good[:at] + b"\x00" * 50 + good[at + 50:]
    photo = open_photo(broken)
    assert photo.size == (600, 800)
    with pytest.raises(PhotoError, match="uszkodzony"):
        photo.decode()


def test_a_decode_that_would_exceed_the_budget_is_made_coarser_not_refused():
    """A 12 MP phone photo turned by EXIF: whole, the picture and a turned copy of it would take 98 MB, so it is
    read at 1/2; the part around a face is cut out before turning, and that fits whole."""
    from tenants.photos.decode import DECODE_BUDGET
    from tenants.photos.decode import open_photo

    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    Image.new("RGB", (4032, 3024), (200, 200, 200)).save(out, "JPEG", exif=exif)
    photo = open_photo(out.getvalue())
    assert photo.size == (3024, 4032) and DECODE_BUDGET < 2 * 4032 * 3024 * 4
    whole = photo.decode(scale=1.0)
    assert whole.limited and whole.scale == 2 and whole.image.size == (1512, 2016)
    around = photo.decode(scale=1.0, region=(1000, 1000, 1600, 1800))
    assert not around.limited and around.scale == 1 and around.image.size == (600, 800)
    assert around.origin == (1000, 1000)
