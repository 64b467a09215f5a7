"""Photo checks: framing around a real face, each check's finding, school policies, hostile files.

The faces are real: scikit-image's `astronaut`. `good_photo()` turns it into a proper ID photo
(enlarged ×4 so it has the pixels, its mottled studio backdrop replaced by plain light grey);
every bad case is that photo with one thing wrong.
"""

from __future__ import annotations

import io
import resource
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image
from PIL import ImageCms
from PIL import ImageEnhance
from PIL import ImageFilter
from skimage import data as skdata

from tenants.photos.checks import CHECKS
from tenants.photos.checks import Finding
from tenants.photos.checks import PhotoResult
from tenants.photos.checks import Severity
from tenants.photos.checks import check_photo
from tenants.photos.checks import parse_policy
from tenants.photos.decode import PhotoError
from tests.faces import good_jpeg
from tests.faces import good_photo
from tests.faces import jpeg_bytes
from tests.faces import photo_on
from tests.faces import png_bytes
from tests.hostile_photos import declaring

# Where things are in good_photo() (2048×2288): astronaut's face (Haar box) spans x 693–1101,
# y 499–907; the crown (top of the hair) is at y≈304, the chin at y≈936.
FACE_CENTRE_X = 897
CROWN_Y = 304


# --- builders -------------------------------------------------------------------------------------

def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def faces_in(data: bytes) -> list[tuple[int, int, int, int]]:
    """Faces in a stored photo, found independently of the module under test (plain OpenCV)."""
    gray = cv2.cvtColor(np.asarray(opened(data).convert("RGB")), cv2.COLOR_RGB2GRAY)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    return [tuple(int(v) for v in face) for face in cascade.detectMultiScale(gray, 1.1, 5, minSize=(100, 100))]


def finding(result: PhotoResult, code: str) -> Finding:
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, f"expected one {code!r} finding, got {result.findings}"
    return found[0]


def codes(result: PhotoResult) -> set[str]:
    return {f.code for f in result.findings}


def assert_policy_decides(data: bytes, code: str, default: Severity) -> None:
    """The finding has its default severity; a school can make it an error, a warning, or switch it off."""
    assert finding(check_photo(data), code).severity is default
    as_warning = check_photo(data, {code: "warning"})
    assert finding(as_warning, code) in as_warning.warnings
    assert code not in codes(check_photo(data, {code: Severity.OFF}))
    as_error = check_photo(data, {code: "error"})
    assert finding(as_error, code) in as_error.errors and not as_error.ok


# --- the catalogue and policies -------------------------------------------------------------------

def test_checks_are_listed_in_display_order_with_polish_labels_and_defaults():
    assert list(CHECKS) == ["file_size", "min_pixels", "face", "face_size", "centred", "background",
                            "sharpness", "brightness"]
    assert {code: default for code, (_label, default) in CHECKS.items()} == {
        "file_size": Severity.WARNING, "min_pixels": Severity.ERROR, "face": Severity.ERROR,
        "face_size": Severity.WARNING, "centred": Severity.WARNING, "background": Severity.WARNING,
        "sharpness": Severity.WARNING, "brightness": Severity.WARNING}
    assert all(label.strip() for label, _default in CHECKS.values())


def test_policy_fills_defaults_ignores_unknown_codes_and_refuses_unknown_severities():
    assert parse_policy(None) == {code: default for code, (_label, default) in CHECKS.items()}
    policy = parse_policy({"sharpness": "error", "face": "off", "hat": "error"})
    assert policy["sharpness"] is Severity.ERROR and policy["face"] is Severity.OFF
    assert policy["background"] is Severity.WARNING and "hat" not in policy
    with pytest.raises(ValueError, match="maybe"):
        parse_policy({"face": "maybe"})
    with pytest.raises(ValueError):
        check_photo(good_jpeg(), {"face": "ERROR!"})


def test_result_sorts_findings_into_errors_and_warnings():
    errors = Finding("face", Severity.ERROR, "x"), Finding("min_pixels", Severity.ERROR, "y")
    warning = Finding("sharpness", Severity.WARNING, "z")
    result = PhotoResult(jpeg=b"", findings=(errors[0], warning, errors[1]), face_found=True)
    assert result.errors == errors and result.warnings == (warning,) and not result.ok
    assert PhotoResult(jpeg=b"", findings=(warning,), face_found=True).ok


# --- a good photo -----------------------------------------------------------------------------------

def test_good_photo_passes_and_is_framed_around_the_face():
    original = good_jpeg()
    result = check_photo(original)
    assert result.findings == () and result.ok and result.face_found
    stored = opened(result.jpeg)
    assert stored.format == "JPEG" and stored.size == (492, 633) and stored.mode == "RGB"
    assert not stored.getexif() and "icc_profile" not in stored.info
    [(x, y, w, h)] = faces_in(result.jpeg)
    assert abs(x + w / 2 - 246) < 0.05 * 492  # centred across
    assert 0.38 < h / 633 < 0.52  # measured 0.45: the plain cascade's box when the head is ~75 % of the height
    assert 0.22 < y / 633 < 0.40  # the head near the top, with some room above it


def test_good_photo_is_framed_the_same_when_checked_again():
    once = check_photo(good_jpeg())
    again = check_photo(once.jpeg)
    assert again.findings == () and again.face_found
    [(x1, y1, w1, _h1)], [(x2, y2, w2, _h2)] = faces_in(once.jpeg), faces_in(again.jpeg)
    assert abs(x1 - x2) < 15 and abs(y1 - y2) < 15 and abs(w1 - w2) < 20


def test_png_is_accepted_and_stored_as_jpeg():
    result = check_photo(png_bytes(good_photo()))
    assert result.findings == () and result.face_found
    assert opened(result.jpeg).format == "JPEG" and opened(result.jpeg).size == (492, 633)


@pytest.mark.parametrize("mode", ["L", "CMYK", "RGBA", "P"])
def test_other_pixel_modes_are_accepted(mode):
    image = good_photo().convert(mode)
    if mode == "RGBA":
        image.putalpha(255)
    data = png_bytes(image) if mode in ("RGBA", "P") else jpeg_bytes(image)
    result = check_photo(data)
    assert result.face_found and opened(result.jpeg).mode == "RGB"


def test_transparent_png_background_becomes_white_and_16_bit_grey_is_not_blown_out():
    clear = Image.new("RGBA", (600, 800), (0, 0, 0, 0))
    assert opened(check_photo(png_bytes(clear)).jpeg).getpixel((246, 316)) == (255, 255, 255)
    grey16 = Image.fromarray(np.full((800, 600), 100 * 256, dtype=np.uint16))  # 16-bit grey at 100/255
    assert abs(opened(check_photo(png_bytes(grey16)).jpeg).getpixel((246, 316))[0] - 100) <= 2


# --- faces ------------------------------------------------------------------------------------------

def test_picture_without_a_face_is_an_error_and_still_cropped_to_the_card():
    cat = Image.fromarray(skdata.chelsea()).resize((1804, 1200), Image.Resampling.LANCZOS)
    result = check_photo(jpeg_bytes(cat))
    assert not result.face_found and not result.ok
    assert finding(result, "face").message.startswith("Nie znaleziono twarzy")
    assert opened(result.jpeg).size == (492, 633)
    assert_policy_decides(jpeg_bytes(cat), "face", Severity.ERROR)
    assert check_photo(jpeg_bytes(cat), {"face": "warning"}).ok


def test_coffee_has_no_face_either():
    coffee = Image.fromarray(skdata.coffee()).resize((1800, 1200), Image.Resampling.LANCZOS)
    assert "face" in codes(check_photo(jpeg_bytes(coffee)))


def test_two_faces_are_an_error():
    head = good_photo().crop((FACE_CENTRE_X - 450, 150, FACE_CENTRE_X + 450, 1350))
    pair = Image.new("RGB", (1900, 1300), (235, 235, 235))
    pair.paste(head, (20, 50))
    pair.paste(head, (980, 50))
    data = jpeg_bytes(pair)
    result = check_photo(data)
    assert finding(result, "face").message.startswith("Na zdjęciu jest więcej niż jedna twarz")
    assert result.face_found and not result.ok
    assert_policy_decides(data, "face", Severity.ERROR)
    assert check_photo(data, {"face": "warning"}).ok  # one face is framed; nothing else is wrong


def test_small_face_has_too_few_pixels_for_the_card():
    person = good_photo().resize((930, 1040), Image.Resampling.LANCZOS)  # face ~185 px high
    canvas = Image.new("RGB", (1300, 1700), (235, 235, 235))
    canvas.paste(person, (185, 300))
    data = jpeg_bytes(canvas)
    result = check_photo(data)
    assert result.face_found
    message = finding(result, "min_pixels").message
    assert "fragment z twarzą ma tylko" in message and "492×633" in message
    assert_policy_decides(data, "min_pixels", Severity.ERROR)
    assert check_photo(data, {"min_pixels": "warning"}).ok


def test_picture_too_small_without_a_face_says_so_and_does_not_crash():
    for size in ((100, 100), (300, 400)):
        result = check_photo(png_bytes(Image.new("RGB", size, (240, 240, 240))))
        assert "zdjęcie przycięte do proporcji 35×45 ma" in finding(result, "min_pixels").message
        assert "face" in codes(result) and opened(result.jpeg).size == (492, 633)


def test_face_too_close_fills_more_than_80_percent():
    tight = good_photo().crop((FACE_CENTRE_X - 280, CROWN_Y - 24, FACE_CENTRE_X + 280, CROWN_Y + 696))  # 560×720
    data = jpeg_bytes(tight)
    result = check_photo(data)
    assert "za blisko" in finding(result, "face_size").message
    assert "min_pixels" not in codes(result) and result.ok
    assert_policy_decides(data, "face_size", Severity.WARNING)


def test_face_at_the_side_of_the_picture_is_not_centred():
    shifted = good_photo().crop((FACE_CENTRE_X - 200, 0, FACE_CENTRE_X + 800, 2288))  # face centre at 200 of 1000
    data = jpeg_bytes(shifted)
    assert "przesunięta w lewo" in finding(check_photo(data), "centred").message
    assert_policy_decides(data, "centred", Severity.WARNING)
    mirrored = jpeg_bytes(shifted.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    assert "przesunięta w prawo" in finding(check_photo(mirrored), "centred").message


def test_head_cut_off_at_the_top_is_not_centred():
    cut = good_photo().crop((0, CROWN_Y + 120, 2048, 2288))
    assert "ucięta u góry" in finding(check_photo(jpeg_bytes(cut)), "centred").message


# --- background, sharpness, brightness -------------------------------------------------------------

def test_dark_background():
    data = jpeg_bytes(good_photo(fill=25))
    result = check_photo(data)
    assert "Tło jest za ciemne" in finding(result, "background").message
    assert codes(result) == {"background"}
    assert_policy_decides(data, "background", Severity.WARNING)


def test_patterned_background():
    stripes = np.full((2288, 2048), 200, dtype=np.uint8)
    stripes[:, (np.arange(2048) // 120) % 2 == 1] = 240
    result = check_photo(jpeg_bytes(photo_on(Image.fromarray(stripes))))
    message = finding(result, "background").message
    assert "nie jest jednolite" in message and "za ciemne" not in message


def test_plain_wall_with_uneven_light_and_sensor_noise_is_still_plain():
    light = np.linspace(200, 240, 2048)[None, :].repeat(2288, axis=0)  # brighter towards the window
    wall = Image.fromarray((light + np.random.default_rng(3).normal(0, 8, light.shape)).clip(0, 255).astype(np.uint8))
    assert "background" not in codes(check_photo(jpeg_bytes(photo_on(wall))))


def test_blurred_photo():
    data = jpeg_bytes(good_photo().filter(ImageFilter.GaussianBlur(6)))
    result = check_photo(data)
    assert "nieostre" in finding(result, "sharpness").message
    assert codes(result) == {"sharpness"}  # still the one face, framed the same
    assert_policy_decides(data, "sharpness", Severity.WARNING)


def test_slightly_soft_photo_is_still_sharp_enough():
    assert "sharpness" not in codes(check_photo(jpeg_bytes(good_photo().filter(ImageFilter.GaussianBlur(1)))))


def test_underexposed_face():
    data = jpeg_bytes(ImageEnhance.Brightness(good_photo()).enhance(0.3))
    result = check_photo(data)
    assert "Twarz jest za ciemna" in finding(result, "brightness").message
    assert result.face_found
    assert_policy_decides(data, "brightness", Severity.WARNING)


@pytest.mark.parametrize("gain", [1.3, 1.6])  # a quarter of the face blown to white; the whole face very light
def test_overexposed_face(gain):
    data = jpeg_bytes(ImageEnhance.Brightness(good_photo()).enhance(gain))
    assert "prześwietlona" in finding(check_photo(data), "brightness").message


@pytest.mark.parametrize("gain", [0.6, 1.2])
def test_somewhat_darker_or_lighter_face_is_not_flagged(gain):
    assert "brightness" not in codes(check_photo(jpeg_bytes(ImageEnhance.Brightness(good_photo()).enhance(gain))))


# --- files: orientation, metadata, hostile content -------------------------------------------------

@pytest.mark.parametrize("orientation, stored_as", [(6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270)],
                         ids=["orientation-6", "orientation-8"])
def test_exif_orientation_is_applied_before_looking_for_the_face(orientation, stored_as):
    sideways = good_photo().transpose(stored_as)  # what the sensor recorded
    assert "face" in codes(check_photo(jpeg_bytes(sideways)))  # without the tag the face is on its side
    exif = Image.Exif()
    exif[0x0112] = orientation
    result = check_photo(jpeg_bytes(sideways, exif=exif))
    assert result.face_found and result.findings == ()
    [(x, _y, w, _h)] = faces_in(result.jpeg)  # upright in the stored photo
    assert abs(x + w / 2 - 246) < 0.05 * 492 and not opened(result.jpeg).getexif()


def test_gps_camera_colour_profile_and_xmp_are_not_stored():
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0xA431] = "SERIAL-12345"  # BodySerialNumber
    exif[0x8825] = {1: "N", 2: (53.0, 25.0, 0.0), 3: "E", 4: (14.0, 33.0, 0.0)}  # GPS
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SECRET-XMP</x:xmpmeta>'
    original = jpeg_bytes(good_photo(), exif=exif, icc_profile=icc, xmp=xmp)
    assert opened(original).getexif().get_ifd(0x8825) and b"SECRET-XMP" in original
    stored = check_photo(original).jpeg
    image = opened(stored)
    assert not image.getexif() and not image.getexif().get_ifd(0x8825)
    for secret in (b"Exif", b"TestCam", b"SERIAL-12345", b"SECRET-XMP", b"xmpmeta", b"ICC_PROFILE"):
        assert secret not in stored
    assert "icc_profile" not in image.info and "xmp" not in image.info


def test_html_appended_to_a_jpeg_is_not_stored():
    polyglot = good_jpeg() + b"<html><body><script>alert(document.cookie)</script></body></html>"
    result = check_photo(polyglot)
    assert result.findings == ()
    assert b"<script>" not in result.jpeg and b"<html>" not in result.jpeg


@pytest.mark.parametrize("data, message", [
    (b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<<>>\n%%EOF\n", "nie jest zdjęciem"),
    (b"<html><script>alert(1)</script></html>", "nie jest zdjęciem"),
    (b"GIF89a" + b"\x00" * 100, "nie jest zdjęciem"),
    (b"", "Nie wybrano pliku"),
])
def test_non_images_are_refused(data, message):
    with pytest.raises(PhotoError, match=message):
        check_photo(data)


def test_truncated_jpeg_is_refused_as_corrupt():
    import weasyprint  # noqa: F401  (it turns on Pillow's LOAD_TRUNCATED_IMAGES for the whole process)

    with pytest.raises(PhotoError, match="uszkodzony"):
        check_photo(good_jpeg()[:5000])


def test_file_over_5_mb_is_a_warning_and_over_15_mb_is_refused():
    noise = np.random.default_rng(7).integers(0, 256, (1600, 1300, 3), dtype=np.uint8)
    data = png_bytes(Image.fromarray(noise))
    assert 5 * 1024 * 1024 < len(data) < 15 * 1024 * 1024
    message = finding(check_photo(data), "file_size").message
    assert "MB" in message and "5 MB" in message
    assert_policy_decides(data, "file_size", Severity.WARNING)
    assert "file_size" not in codes(check_photo(good_jpeg()))
    with pytest.raises(PhotoError, match="za duży"):
        check_photo(b"\xff\xd8" + b"\x00" * (16 * 1024 * 1024))


def test_huge_dimensions_are_refused_above_64_megapixels_and_handled_below():
    with pytest.raises(PhotoError, match="pikseli"):  # declares 72 MP (what a decoder would allocate for)
        check_photo(declaring(jpeg_bytes(Image.new("RGB", (900, 800), (230, 230, 230))), 9000, 8000))
    result = check_photo(jpeg_bytes(Image.new("RGB", (6000, 6000), (230, 230, 230))))  # 36 megapixels
    assert opened(result.jpeg).size == (492, 633) and "min_pixels" not in codes(result)


def png_bomb(width: int, height: int) -> bytes:
    """A complete, valid 1-bit PNG of a black picture: a byte per pixel once decoded, next to nothing compressed."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])  # 1-bit grey
    rows = bytes((1 + (width + 7) // 8) * 100)  # 100 rows: filter byte + packed pixels each
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(rows) for _ in range(height // 100)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [20_000, 9_000])  # 400 and 81 megapixels; Pillow alone only refuses >179
def test_decompression_bomb_is_refused_without_decoding_it(side):
    bomb = png_bomb(side, side)  # 1 byte per pixel decoded: 400 MB, 81 MB (and three times that as RGB)
    assert len(bomb) < 200_000
    small = opened(png_bomb(2_000, 1_000))  # the same construction decodes: a real PNG, not a broken header
    assert small.size == (2_000, 1_000) and small.getextrema() == (0, 0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(PhotoError, match="pikseli"):
        check_photo(bomb)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50 * 1024
