"""Pupil photos: accept JPEG or PNG by content, normalise to the card's 492×633 px JPEG.

Decoding is bounded: only the JPEG and PNG decoders are allowed, and anything above
`MAX_PIXELS` is refused before it is decoded (decompression bombs). The output is re-encoded
from pixels, so EXIF (GPS included), ICC, XMP and anything appended to the file are gone.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image
from PIL import ImageOps
from PIL import UnidentifiedImageError

WIDTH, HEIGHT = 492, 633  # 35 × 45 mm at ~357 dpi (BRIEF.md §11)
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_WIDTH, MIN_HEIGHT = 300, 386


class PhotoError(ValueError):
    """The upload is not a usable photo; the message is Polish and safe to show."""


def normalise_photo(data: bytes) -> bytes:
    """Return the photo as a clean 492×633 JPEG, cropped to 35:45 around the centre.

    Raises `PhotoError` for a non-image, a format other than JPEG/PNG, a file or a picture too
    large, or a picture too small to print well.
    """
    if not data:
        raise PhotoError("Nie wybrano pliku ze zdjęciem.")
    if len(data) > MAX_BYTES:
        raise PhotoError("Plik jest za duży (największy dopuszczalny: 10 MB).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["JPEG", "PNG"])
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError("Zdjęcie ma zbyt wiele pikseli (największe dopuszczalne: 40 megapikseli).")
            image.draft("RGB", (WIDTH * 2, HEIGHT * 2))  # JPEG: decode at a reduced scale when possible
            image = ImageOps.exif_transpose(image)
            image.load()
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("Plik nie jest zdjęciem w formacie JPEG ani PNG.") from None
    except (OSError, SyntaxError, ValueError):
        raise PhotoError("Nie udało się odczytać zdjęcia — plik jest uszkodzony.") from None
    if image.width < MIN_WIDTH or image.height < MIN_HEIGHT:
        raise PhotoError(f"Zdjęcie jest za małe ({image.width}×{image.height} px); potrzeba co najmniej "
                         f"{MIN_WIDTH}×{MIN_HEIGHT} px, najlepiej {WIDTH}×{HEIGHT} px.")
    image = image.convert("RGB")
    image = ImageOps.fit(image, (WIDTH, HEIGHT), method=Image.Resampling.LANCZOS, centering=(0.5, 0.4))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, optimize=True)  # no exif=, icc_profile=: all metadata dropped
    return out.getvalue()
