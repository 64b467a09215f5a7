"""Pupil photos: accept JPEG or PNG by content, normalise to the card's 492×633 px JPEG.

Decoding is bounded: only the JPEG and PNG decoders are allowed, and anything above
`MAX_PIXELS` is refused before it is decoded (decompression bombs). The output is re-encoded
from pixels, so EXIF (GPS included), ICC, XMP and anything appended to the file are gone.

`decode_photo` is the one bounded decoder; `tenants.photo_checks` uses it too (with
`open_photo` and `load_photo` when it needs the full size before choosing how far to decode).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator

import numpy as np
from PIL import Image
from PIL import ImageFile
from PIL import ImageOps
from PIL import UnidentifiedImageError

WIDTH, HEIGHT = 492, 633  # 35 × 45 mm at ~357 dpi (BRIEF.md §11)
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_WIDTH, MIN_HEIGHT = 300, 386

_ORIENTATION = 0x0112
_SWAPS_AXES = {5, 6, 7, 8}  # EXIF orientations that turn the picture by 90° or 270°


class PhotoError(ValueError):
    """The upload is not a usable photo; the message is Polish and safe to show."""


@contextlib.contextmanager
def _decoding() -> Iterator[None]:
    """Turn every way a decoder can fail into a `PhotoError`; a decompression bomb warning is an error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(_too_many_pixels()) from None
    except UnidentifiedImageError:
        raise PhotoError("Plik nie jest zdjęciem w formacie JPEG ani PNG.") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise PhotoError("Nie udało się odczytać zdjęcia — plik jest uszkodzony.") from None


def _too_many_pixels() -> str:
    return f"Zdjęcie ma zbyt wiele pikseli (największe dopuszczalne: {MAX_PIXELS // 1_000_000} megapikseli)."


def open_photo(data: bytes, *, max_bytes: int = MAX_BYTES) -> Image.Image:
    """Open (not decode) a JPEG or PNG, refusing empty data, a file over `max_bytes` and over `MAX_PIXELS`."""
    if not data:
        raise PhotoError("Nie wybrano pliku ze zdjęciem.")
    if len(data) > max_bytes:
        raise PhotoError(f"Plik jest za duży (największy dopuszczalny: {max_bytes // (1024 * 1024)} MB).")
    with _decoding():
        image = Image.open(io.BytesIO(data), formats=["JPEG", "PNG"])
        if image.width * image.height > MAX_PIXELS:
            raise PhotoError(_too_many_pixels())
    return image


def oriented_size(image: Image.Image) -> tuple[int, int]:
    """The size of an opened photo once its EXIF orientation is applied, read without decoding it."""
    with _decoding():
        orientation = image.getexif().get(_ORIENTATION)
    return (image.height, image.width) if orientation in _SWAPS_AXES else image.size


def load_photo(image: Image.Image, *, at_least: tuple[int, int] | None = None) -> Image.Image:
    """Decode an opened photo into upright RGB pixels.

    `at_least` (width, height after orientation) lets a JPEG decode at 1/2, 1/4 or 1/8 scale as long
    as the result is still at least that big. Transparent pixels of a PNG become white.
    """
    # WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES on import (the worker preloads
    # it); an upload cut short must still be refused, so it is switched back off before decoding.
    # WeasyPrint itself only ever reads the clean JPEGs stored here.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    with _decoding():
        if at_least is not None:
            want = at_least[::-1] if oriented_size(image) != image.size else at_least
            image.draft("RGB", (max(1, want[0]), max(1, want[1])))
        image.load()
        ImageOps.exif_transpose(image, in_place=True)  # in place: no copy of a 12 MP picture
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            image = Image.new("RGB", rgba.size, (255, 255, 255))
            image.paste(rgba, mask=rgba.getchannel("A"))
        elif image.mode.startswith("I"):  # 16-bit greyscale PNG: Pillow's convert would clip it to white
            image = Image.fromarray((np.asarray(image).astype(np.uint32) >> 8).clip(0, 255).astype(np.uint8))
        return image if image.mode == "RGB" else image.convert("RGB")


def decode_photo(data: bytes, *, max_bytes: int = MAX_BYTES, at_least: tuple[int, int] | None = None) -> Image.Image:
    """Bounded decode of a JPEG or PNG into upright RGB pixels (`open_photo` then `load_photo`)."""
    return load_photo(open_photo(data, max_bytes=max_bytes), at_least=at_least)


def normalise_photo(data: bytes) -> bytes:
    """Return the photo as a clean 492×633 JPEG, cropped to 35:45 around the centre.

    Raises `PhotoError` for a non-image, a format other than JPEG/PNG, a file or a picture too
    large, or a picture too small to print well.
    """
    image = decode_photo(data, at_least=(WIDTH * 2, HEIGHT * 2))  # JPEG: decode at a reduced scale when possible
    if image.width < MIN_WIDTH or image.height < MIN_HEIGHT:
        raise PhotoError(f"Zdjęcie jest za małe ({image.width}×{image.height} px); potrzeba co najmniej "
                         f"{MIN_WIDTH}×{MIN_HEIGHT} px, najlepiej {WIDTH}×{HEIGHT} px.")
    return encode_jpeg(ImageOps.fit(image, (WIDTH, HEIGHT), method=Image.Resampling.LANCZOS, centering=(0.5, 0.4)))


def encode_jpeg(image: Image.Image) -> bytes:
    """Encode pixels as a JPEG with no metadata at all (no exif=, icc_profile=, xmp=)."""
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, optimize=True)
    return out.getvalue()
