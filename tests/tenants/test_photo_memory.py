"""Every photo upload is read within the memory budget: 100 MB above the process's baseline.

Each file is checked by `check_photo` in a fresh Python process: its peak resident memory
(`ru_maxrss`) is taken after the imports (Pillow, numpy, OpenCV) and again after the check, so
nothing the test process did before counts. The files are the hostile ones (declaring tens of
megapixels in a few kilobytes, degenerate sizes, decoders' worst modes) and, for each way a
file decodes, one just inside what `tenants.photos.decode` admits, plus real phone-sized photos of a
face. The figures are printed (run with -s) for docs/testing.md; only the budget is asserted.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tenants.photos.decode import MEMORY_BUDGET
from tenants.photos.decode import PhotoError
from tenants.photos.decode import open_photo
from tests.faces import good_photo
from tests.faces import jpeg_bytes
from tests.hostile_photos import GREY
from tests.hostile_photos import PALETTE
from tests.hostile_photos import REFUSED
from tests.hostile_photos import RGBA
from tests.hostile_photos import jpeg_file
from tests.hostile_photos import png_chunk
from tests.hostile_photos import png_file
from tests.hostile_photos import text_bomb_png
from tests.memory_budget import grown


def peak(path: Path | str) -> dict:
    """check_photo on the file in a new process: what it decided and how far its peak RSS grew (KiB)."""
    return grown("tests.hostile_photos:check_file", path)


def test_the_measurement_sees_memory_taken():
    assert 145 * 1024 <= grown("tests.memory_budget:hold", 150)["grown_kib"] <= 160 * 1024


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def _phone(size: tuple[int, int], face_scale: float, at: tuple[int, int], orientation: int = 1) -> bytes:
    """A phone-sized JPEG of astronaut's good photo enlarged `face_scale` times, stored as the sensor would for
    `orientation` (6: turned, tagged to be turned back)."""
    canvas = Image.new("RGB", size, (235, 235, 235))
    person = good_photo()
    canvas.paste(person.resize((round(person.width * face_scale), round(person.height * face_scale))), at)
    if orientation == 6:
        canvas = canvas.transpose(Image.Transpose.ROTATE_90)
    return jpeg_bytes(canvas, exif=_exif(orientation))


# Just inside what is admitted, per way of decoding (each in its worst mode for memory), and real photos.
ACCEPTED = {
    "rgb-png-13.4mp.png": lambda: png_file(3300, 4060),
    "grey-png-13.4mp.png": lambda: png_file(3300, 4060, colour=GREY),
    "grey-png-40mp.png": lambda: png_file(6300, 6300, colour=GREY),
    "1bit-png-33mp.png": lambda: png_file(5000, 6700, depth=1, colour=GREY),
    "grey16-png-13.4mp.png": lambda: png_file(3300, 4060, depth=16, colour=GREY),
    "palette-transparent-png-7.4mp.png": lambda: png_file(2400, 3100, colour=PALETTE,
                                                         before_pixels=png_chunk(b"tRNS", b"\x00")),
    "rgba-png-8.4mp.png": lambda: png_file(2500, 3350, colour=RGBA),
    "progressive-420-21mp.jpg": lambda: jpeg_file(4000, 5350, progressive=True),
    "progressive-444-11mp.jpg": lambda: jpeg_file(2900, 3780, progressive=True, subsampling=0),
    "progressive-420-12mp-turned.jpg": lambda: jpeg_file(4032, 3024, progressive=True, exif=_exif(6)),
    "cmyk-40mp.jpg": lambda: jpeg_file(8000, 5000, mode="CMYK", colour=(20, 20, 20, 0)),
    "64mp.jpg": lambda: jpeg_file(9248, 6920),
    "text-bomb.png": text_bomb_png,
    # Phone photos of a real face: 12 MP turned by EXIF with the face small (decoded whole around the
    # face), 48 MP with the face small (read at 1/2 around it), 48 MP with a large face (read at 1/4).
    "phone-12mp-turned-small-face.jpg": lambda: _phone((3024, 4032), 0.89, (601, 1000), orientation=6),
    "phone-48mp-turned-small-face.jpg": lambda: _phone((6000, 8000), 1.62, (1344, 2000), orientation=6),
    "phone-48mp.jpg": lambda: _phone((6000, 8000), 2.9, (30, 600)),
    "phone-16mp-turned-small-face.jpg": lambda: _phone((3456, 4608), 0.95, (700, 1200), orientation=6),
    # Files at the size limit (15 MB, a ZIP's photo): pixels that do not compress.
    "noise-12mp-15mb.jpg": lambda: _noise_jpeg(),
    "noise-png-15mb.png": lambda: _noise_png(),
}


def _noise(width: int, height: int) -> Image.Image:
    import numpy as np

    return Image.fromarray(np.random.default_rng(5).integers(0, 256, (height, width, 3), dtype=np.uint8))


def _noise_jpeg() -> bytes:
    out = io.BytesIO()
    _noise(3024, 4032).save(out, "JPEG", quality=75, subsampling=0)  # ~14 MB
    assert 12 * 1024 * 1024 < len(out.getvalue()) <= 15 * 1024 * 1024
    return out.getvalue()


def _noise_png() -> bytes:
    out = io.BytesIO()
    _noise(2230, 2230).save(out, "PNG")
    assert 14 * 1024 * 1024 < len(out.getvalue()) <= 15 * 1024 * 1024
    return out.getvalue()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("photos")
    paths = {}
    for name, make in {**{name: make for name, (make, _message) in REFUSED.items()}, **ACCEPTED}.items():
        paths[name] = folder / name
        paths[name].write_bytes(make())
    return paths


@pytest.mark.parametrize("name", list(REFUSED))
def test_hostile_file_is_refused_within_the_memory_budget(files, name):
    outcome = peak(files[name])
    print(f"\n{name}: {files[name].stat().st_size // 1024} KB, refused, peak +{outcome['grown_kib'] / 1024:.1f} MB")
    assert outcome["refused"] and outcome["refused"].startswith(REFUSED[name][1])
    assert outcome["grown_kib"] * 1024 < MEMORY_BUDGET


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_largest_admitted_file_of_each_kind_is_checked_within_the_memory_budget(files, name):
    outcome = peak(files[name])
    print(f"\n{name}: {files[name].stat().st_size // 1024} KB, {outcome}, peak +{outcome['grown_kib'] / 1024:.1f} MB")
    assert outcome["refused"] is None
    assert outcome["grown_kib"] * 1024 < MEMORY_BUDGET
    if name.startswith("phone"):
        assert outcome["face_found"] and "face" not in outcome["findings"]


@pytest.mark.parametrize("make", [
    lambda: png_file(5000, 7000, depth=1, colour=GREY),
    lambda: png_file(2400, 3300, colour=PALETTE, before_pixels=png_chunk(b"tRNS", b"\x00")),
    lambda: png_file(2500, 3550, colour=RGBA),
    lambda: jpeg_file(4000, 5650, progressive=True),
    lambda: jpeg_file(2900, 3980, progressive=True, subsampling=0),
], ids=["1bit-png", "palette-transparent-png", "rgba-png", "progressive-420", "progressive-444"])
def test_a_little_more_than_the_largest_admitted_is_refused(make):
    """So the admitted files above sit at the edge of the budget: 5 % more pixels of the same kind is refused."""
    with pytest.raises(PhotoError, match="Zdjęcie ma zbyt wiele pikseli, by je bezpiecznie odczytać"):
        open_photo(make(), max_bytes=15 * 1024 * 1024)


def test_a_zip_of_photos_is_read_one_photo_at_a_time(tmp_path):
    """600 MB unpacked (40 files of 14.9 MB, the limits) in a 600 KB archive: the import never holds more than
    one file, so it stays within the budget where unpacking it all would take 600 MB."""
    import zipfile

    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(40):
            archive.writestr(f"photo-{i}.jpg", bytes(14_900_000))
    assert path.stat().st_size < 1024 * 1024
    outcome = grown("tests.hostile_photos:check_zip", path)
    print(f"\nzip of 40 × 14.9 MB: peak +{outcome['grown_kib'] / 1024:.1f} MB")
    assert outcome["files"] == 40
    assert outcome["grown_kib"] * 1024 < MEMORY_BUDGET
