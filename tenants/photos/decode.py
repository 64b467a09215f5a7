"""Pupil photos: accept JPEG or PNG by content, decode within a memory budget, store pixels only.

Memory. Reading and checking one upload takes at most MEMORY_BUDGET (100 MB) above what the
process held before, for any file up to its size limit. Before a pixel is decoded,
`open_photo` reads the file's structure (`tenants.photos.format`) and refuses, with a Polish
message, a picture
  - with a side under MIN_SIDE px or one side more than MAX_ASPECT times the other, before any
    check divides by a size or crops;
  - of more than MAX_PIXELS declared pixels (64 MP: the largest common phone sensors);
  - whose cheapest decode (a JPEG at 1/8 scale, a PNG whole, then reduced) would need more than
    DECODE_BUDGET by `OpenedPhoto.peak_bytes`, which follows every step: libjpeg's whole-picture
    coefficient buffer (progressive files), the mode the file decodes to and the 8-bit copy it
    is converted to, the region cut out, the copy turned upright, and what the checks hold.
What that admits: any baseline JPEG up to 64 MP (a 48 MP phone photo is read at 1/4, around a
small face at 1/2; 12 MP at 1/2, around a small face whole), progressive JPEGs up to 21 MP
(4:2:0 chroma, as phones and most programs write them; 11 MP at 4:4:4), PNGs up to 15 MP in
colour, 63 MP in 8-bit grey, 33 MP 1-bit, 22 MP 16-bit grey, 7–8 MP with transparency. A decode
that wants more detail than DECODE_BUDGET allows is made at the finest scale that fits (a little
softer, never refused once the file was accepted). PNG text, colour-profile and animation
chunks never reach Pillow (it would inflate them while opening the file).

Metadata. `encode_jpeg` builds the stored JPEG from pixels alone: no EXIF (GPS included), ICC,
XMP, comment, PNG text or anything appended to the file survives.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import warnings
from collections.abc import Iterator

import numpy as np
from PIL import Image
from PIL import ImageFile
from PIL import ImageOps
from PIL import UnidentifiedImageError

from tenants.photos import format as photo_format
from tenants.photos.format import FormatError

MB = 1024 * 1024
WIDTH, HEIGHT = 492, 633  # 35 × 45 mm at ~357 dpi (docs/domain.md §11)
MAX_BYTES = 10 * MB
MAX_PIXELS = 64_000_000
MIN_SIDE = 100  # px: below this no face can be seen, and the checks' arithmetic has nothing to work on
MAX_ASPECT = 3  # long side ÷ short side: phones take 4:3, 16:9, 20:9; a panorama is not an ID photo
MEMORY_BUDGET = 100 * MB  # above the process's baseline, while one upload is decoded and checked
# What `OpenedPhoto.peak_bytes` may estimate for the pixels. The checks hold about CHECK_OVERHEAD besides
# (measured: checking a 600×800 photo peaks 22 MB above the baseline: OpenCV's cascade and its work
# buffers, numpy's and Python's own); the 14 MB left to MEMORY_BUDGET are for what the model does not see
# (the largest admitted files of every kind measured at most 86 MB).
DECODE_BUDGET = 64 * MB
CHECK_OVERHEAD = 22 * MB
MIN_WIDTH, MIN_HEIGHT = 300, 386

_ORIENTATION = 0x0112
_TURNS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
          5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
          8: Image.Transpose.ROTATE_90}  # EXIF orientation -> what makes the picture upright (as exif_transpose)
_SWAPS_AXES = {5, 6, 7, 8}

# Per mode a file decodes to: Pillow's bytes per pixel in it (RGB, RGBA, LA and CMYK take 4, "1", L and P one,
# I;16 two), the mode the picture is worked on in (L or RGB: transparency is flattened onto white at once),
# and the bytes per pixel the conversion adds (the new copy, and an RGBA step for a transparent palette).
_MODES: dict[str, tuple[int, str, int]] = {
    "1": (1, "L", 1), "L": (1, "L", 0), "I;16": (2, "L", 1), "I;16B": (2, "L", 1), "I;16L": (2, "L", 1),
    "P": (1, "RGB", 4), "P+transparency": (1, "RGB", 8), "RGB": (4, "RGB", 0), "RGBA": (4, "RGB", 4),
    "LA": (4, "RGB", 4), "CMYK": (4, "RGB", 4),
}
_OTHER_MODE = (4, "RGB", 8)
_STRIP_BYTES = 1 * MB  # 16-bit grey is narrowed a strip at a time
_LAST_REDUCE = 4  # the cheapest decode: a JPEG at 1/8 or a PNG whole, then reduced 4 times; opening checks it fits


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
    except FormatError as err:
        raise PhotoError(str(err)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(_too_many_pixels()) from None
    except UnidentifiedImageError:
        raise PhotoError("Plik nie jest zdjęciem w formacie JPEG ani PNG.") from None
    except MemoryError:
        raise PhotoError(_too_many_pixels()) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise PhotoError("Nie udało się odczytać zdjęcia — plik jest uszkodzony.") from None


def _too_many_pixels(size: tuple[int, int] | None = None) -> str:
    has = f" ({size[0]}×{size[1]} px)" if size else ""
    return f"Zdjęcie ma zbyt wiele pikseli{has}; największe dopuszczalne ma 64 megapiksele."


@dataclasses.dataclass(frozen=True)
class Decoded:
    """Upright RGB pixels of the photo, or of a region of it.

    `scale` is original pixels per decoded pixel, `origin` where the image's top-left corner
    lies in the original (upright) picture, and `limited` says the budget allowed less detail
    than was asked for.
    """

    image: Image.Image
    scale: float
    origin: tuple[float, float]
    limited: bool


class OpenedPhoto:
    """A JPEG or PNG whose structure was read and found decodable within DECODE_BUDGET; nothing decoded yet.

    `size` is the upright size (EXIF orientation applied); every coordinate given to `decode` is
    in that picture's pixels.
    """

    def __init__(self, data: bytes, *, max_bytes: int) -> None:
        if not data:
            raise PhotoError("Nie wybrano pliku ze zdjęciem.")
        if len(data) > max_bytes:
            raise PhotoError(f"Plik jest za duży (największy dopuszczalny: {max_bytes // MB} MB).")
        with _decoding():
            if data.startswith(photo_format.JPEG_START):
                self.format, self.layout = "JPEG", photo_format.jpeg_layout(data)
                self.coefficient_bytes = self.layout.coefficient_bytes
                self.data = data
            elif data.startswith(photo_format.PNG_SIGNATURE):
                self.format, self.layout, self.coefficient_bytes = "PNG", None, 0
                self.data = photo_format.png_pixels_only(data)
            else:
                raise PhotoError("Plik nie jest zdjęciem w formacie JPEG ani PNG.")
            image = Image.open(io.BytesIO(self.data), formats=[self.format])
            self.raw_size = image.size
            self.mode = image.mode
            if self.layout is not None and (self.layout.width, self.layout.height) != image.size:
                raise PhotoError(photo_format.CORRUPT)
            _check_geometry(image.size)
            # Pillow's PNG getexif() decodes the whole picture when the file has no eXIf chunk before its pixels
            # (`png_pixels_only` moved any there): only asked when there is one.
            has_exif = self.format == "JPEG" or "exif" in image.info
            orientation = image.getexif().get(_ORIENTATION) if has_exif else None
            self.orientation = orientation if orientation in _TURNS else 1
            self.transparent = image.mode == "P" and "transparency" in image.info
        width, height = self.raw_size
        self.size = (height, width) if self.orientation in _SWAPS_AXES else (width, height)
        if self.peak_bytes(_Plan(self._reductions()[-1], _LAST_REDUCE, None)) > DECODE_BUDGET:
            raise PhotoError(f"Zdjęcie ma zbyt wiele pikseli, by je bezpiecznie odczytać ({width}×{height} px w pliku "
                             f"{self.format}). Zapisz je jako JPEG albo zmniejsz — wystarczy ok. 2000×2600 px.")

    # --- what a decode costs ----------------------------------------------------------------------

    def _reductions(self) -> tuple[int, ...]:
        return (1, 2, 4, 8) if self.format == "JPEG" else (1,)

    def peak_bytes(self, plan: _Plan) -> int:
        """The most memory a decode by `plan`, and checking its result, hold at once (less CHECK_OVERHEAD).

        Follows the steps of `decode`; measured against the real peak for every mode in
        tests/tenants/test_photo_memory.py.
        """
        native, work_mode, convert = _MODES.get(self._mode_key(), _OTHER_MODE)
        work = 1 if work_mode == "L" else 4
        decoded_w, decoded_h = (math.ceil(side / plan.draft) for side in self.raw_size)
        full = decoded_w * decoded_h
        kept = full if plan.region is None else _area(_at_scale(plan.region, plan.draft))
        small = math.ceil(kept / plan.reduce ** 2)
        steps = [
            self.coefficient_bytes + full * native,  # decoding (libjpeg's coefficients live until it is done)
            full * native + kept * native if plan.region is not None else 0,  # cutting out the region
            kept * (native + convert),  # to L or RGB
            (kept + small) * work if plan.reduce > 1 else 0,  # reducing by a whole factor
            2 * small * work if self.orientation != 1 else 0,  # turning it upright: a turned copy
            small * (work + 4) if work_mode != "RGB" else 0,  # grey to RGB
            small * 5,  # checked: the RGB picture and a greyscale copy of it for the face detector
        ]
        held = len(self.data) if self.format == "PNG" else 0  # the PNG rebuilt without its metadata chunks
        return held + max(steps)

    def _mode_key(self) -> str:
        return "P+transparency" if self.mode == "P" and self.transparent else self.mode

    def _plan(self, scale: float, region: tuple[float, float, float, float] | None) -> tuple[_Plan, bool]:
        """The most detailed decode giving `scale` decoded pixels per original one, or as close as the budget allows.

        Tried in order: a JPEG at the coarsest scale that is still detailed enough (a PNG whole),
        then reduced to what is enough, then coarser; each first only the region, then all of it.
        Returns the plan and whether it has less detail than asked for.
        """
        width, height = self.raw_size
        want_w, want_h = math.ceil(width * scale), math.ceil(height * scale)
        drafts = self._reductions()
        adequate = [d for d in drafts if math.ceil(width / d) >= want_w and math.ceil(height / d) >= want_h]
        ladder = []
        for draft in drafts[drafts.index(adequate[-1]) if adequate else 0:]:
            enough = min(math.ceil(width / draft) // max(1, want_w), math.ceil(height / draft) // max(1, want_h))
            ladder += [(draft, reduce) for reduce in sorted({1, max(1, enough)})]
        ladder += [(drafts[-1], reduce) for reduce in (2, _LAST_REDUCE) if (drafts[-1], reduce) not in ladder]
        raw_region = None if region is None else _to_raw(region, self.orientation, self.raw_size)
        for draft, reduce in ladder:
            for cut in (raw_region, None) if raw_region is not None else (None,):
                plan = _Plan(draft=draft, reduce=reduce, region=cut)
                if self.peak_bytes(plan) <= DECODE_BUDGET:
                    limited = (math.ceil(math.ceil(width / draft) / reduce) < want_w
                               or math.ceil(math.ceil(height / draft) / reduce) < want_h)
                    return plan, limited
        return _Plan(draft=drafts[-1], reduce=_LAST_REDUCE, region=None), True  # what opening the file checked

    # --- decoding ----------------------------------------------------------------------------------

    def decode(self, *, scale: float = 1.0, region: tuple[float, float, float, float] | None = None) -> Decoded:
        """Upright RGB pixels at `scale` or finer (when the budget allows), of the whole picture or of `region`.

        `region` is (left, top, right, bottom) in the upright picture's pixels; the result covers
        at least that. A JPEG is decoded at 1/2, 1/4 or 1/8 scale when that is enough (libjpeg
        does it for a fraction of the memory), then reduced by whole factors, so no
        decode holds more than DECODE_BUDGET.
        """
        if region is not None:
            region = _clip(region, self.size)
        plan, limited = self._plan(min(1.0, scale), region)
        # WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES on import (the worker preloads
        # it); an upload cut short must still be refused, so it is switched back off before decoding.
        # WeasyPrint itself only ever reads the clean JPEGs stored here.
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        with _decoding():
            image = Image.open(io.BytesIO(self.data), formats=[self.format])
            width, height = self.raw_size
            if plan.draft > 1:
                image.draft("RGB", (width // plan.draft, height // plan.draft))
            decoded_w, decoded_h = image.size
            if (decoded_w, decoded_h) != (math.ceil(width / plan.draft), math.ceil(height / plan.draft)):
                raise PhotoError(photo_format.CORRUPT)
            image.load()
            box = (0, 0, decoded_w, decoded_h)
            if plan.region is not None:
                box = _outward(_at_scale(plan.region, plan.draft), (decoded_w, decoded_h))
                image = image.crop(box)
            image = _to_working_mode(image, self.transparent)
            if plan.reduce > 1:
                image = image.reduce(plan.reduce)
            if self.orientation != 1:
                image = image.transpose(_TURNS[self.orientation])
            if image.mode != "RGB":
                image = image.convert("RGB")
        image.info.clear()  # pixels only from here on
        upright_w, upright_h = (decoded_h, decoded_w) if self.orientation in _SWAPS_AXES else (decoded_w, decoded_h)
        step = self.size[0] / upright_w * plan.reduce  # original pixels per pixel of `image`
        left, top, _right, _bottom = _from_raw(box, self.orientation, (decoded_w, decoded_h))
        origin = (left * self.size[0] / upright_w, top * self.size[1] / upright_h)
        return Decoded(image=image, scale=step, origin=origin, limited=limited)


@dataclasses.dataclass(frozen=True)
class _Plan:
    draft: int  # JPEG scale denominator (1, 2, 4, 8); always 1 for PNG
    reduce: int  # then reduced by this whole factor
    region: tuple[float, float, float, float] | None  # in the file's own (not upright) full-size pixels


def _check_geometry(size: tuple[int, int]) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise PhotoError(_too_many_pixels(size))
    if min(width, height) < MIN_SIDE:
        raise PhotoError(f"Zdjęcie ma tylko {width}×{height} px — za mało, by było na nim widać twarz. Prześlij "
                         f"zdjęcie o wymiarach co najmniej {WIDTH}×{HEIGHT} px, najlepiej prosto z aparatu "
                         "lub telefonu.")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise PhotoError(f"Zdjęcie ma nietypowe proporcje ({width}×{height} px): jeden bok jest ponad "
                         f"{MAX_ASPECT} razy dłuższy od drugiego. Prześlij zwykłe zdjęcie twarzy, najlepiej pionowe.")


def _to_working_mode(image: Image.Image, transparent: bool) -> Image.Image:
    """The decoded picture as L (grey) or RGB; transparent pixels become white."""
    mode = image.mode
    if mode in ("L", "RGB"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I;16"):
        return _high_bytes(image)
    if mode == "P" and transparent:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image)  # the mask is the image's own alpha band
        return flat
    return image.convert("RGB")


def _high_bytes(image: Image.Image) -> Image.Image:
    """16-bit grey as 8-bit, keeping each pixel's high byte (Pillow's convert would clip it to white).

    Done a strip of rows at a time, so no copy of the whole picture but the result is made.
    """
    width, height = image.size
    dtype = ">u2" if image.mode == "I;16B" else "<u2"
    grey = np.empty((height, width), dtype=np.uint8)
    rows = max(1, _STRIP_BYTES // (2 * width))
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        strip = np.frombuffer(image.crop((0, top, width, bottom)).tobytes(), dtype=dtype)
        grey[top:bottom] = (strip >> 8).astype(np.uint8).reshape(bottom - top, width)
    return Image.fromarray(grey)


# --- coordinates: the upright picture and the file's own pixel grid ---------------------------------


def _clip(box, size) -> tuple[float, float, float, float]:
    left, top, right, bottom = box
    return max(0.0, left), max(0.0, top), min(float(size[0]), right), min(float(size[1]), bottom)


def _area(box) -> int:
    return max(0, math.ceil(box[2]) - math.floor(box[0])) * max(0, math.ceil(box[3]) - math.floor(box[1]))


def _at_scale(box, draft: int) -> tuple[float, float, float, float]:
    return tuple(v / draft for v in box)


def _outward(box, size) -> tuple[int, int, int, int]:
    """Whole pixels covering `box`, inside an image of `size`, at least one pixel each way."""
    left = min(max(0, math.floor(box[0])), size[0] - 1)
    top = min(max(0, math.floor(box[1])), size[1] - 1)
    return left, top, max(left + 1, min(size[0], math.ceil(box[2]))), max(top + 1, min(size[1], math.ceil(box[3])))


def _to_raw(box, orientation: int, raw_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """A box in the upright picture -> the same pixels in the file's grid (before EXIF orientation)."""
    w, h = raw_size  # the file's own width and height
    left, top, right, bottom = box
    corners = [_upright_to_raw(x, y, orientation, w, h) for x, y in ((left, top), (right, bottom))]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return min(xs), min(ys), max(xs), max(ys)


def _from_raw(box, orientation: int, raw_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """A box in the file's grid -> the same pixels in the upright picture."""
    w, h = raw_size
    left, top, right, bottom = box
    corners = [_raw_to_upright(x, y, orientation, w, h) for x, y in ((left, top), (right, bottom))]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return min(xs), min(ys), max(xs), max(ys)


def _raw_to_upright(x: float, y: float, orientation: int, w: int, h: int) -> tuple[float, float]:
    """Where a point of the file's grid (w × h) lands once `_TURNS[orientation]` is applied.

    Points are on pixel edges (a box's corners), not pixel centres.
    """
    return {1: (x, y), 2: (w - x, y), 3: (w - x, h - y), 4: (x, h - y),
            5: (y, x), 6: (h - y, x), 7: (h - y, w - x), 8: (y, w - x)}[orientation]


def _upright_to_raw(x: float, y: float, orientation: int, w: int, h: int) -> tuple[float, float]:
    """The inverse of `_raw_to_upright`."""
    return {1: (x, y), 2: (w - x, y), 3: (w - x, h - y), 4: (x, h - y),
            5: (y, x), 6: (y, h - x), 7: (w - y, h - x), 8: (w - y, x)}[orientation]


# --- the public entry points ----------------------------------------------------------------------


def open_photo(data: bytes, *, max_bytes: int = MAX_BYTES) -> OpenedPhoto:
    """Read a JPEG or PNG's structure (not its pixels) and refuse it if it cannot be decoded within budget."""
    return OpenedPhoto(data, max_bytes=max_bytes)


def decode_photo(data: bytes, *, max_bytes: int = MAX_BYTES, at_least: tuple[int, int] | None = None) -> Image.Image:
    """Bounded decode of a JPEG or PNG into upright RGB pixels, at least `at_least` (width, height) when given."""
    photo = open_photo(data, max_bytes=max_bytes)
    scale = 1.0 if at_least is None else max(at_least[0] / photo.size[0], at_least[1] / photo.size[1])
    return photo.decode(scale=scale).image


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


def encode_jpeg(image: Image.Image, *, quality: int = 90) -> bytes:
    """Encode pixels as a JPEG with no metadata at all.

    The JPEG is made from a new image built from the raw pixels alone: whatever `image.info`
    carries (a JPEG comment, PNG text, EXIF, ICC profile, XMP, dpi) is not there to be written,
    even where Pillow's encoder would take it from the image by default (it does for "comment").
    The file holds SOI, the JFIF APP0, DQT, SOF0, DHT, SOS and EOI.
    """
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    pixels = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    out = io.BytesIO()
    pixels.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()
