"""Real faces for tests: scikit-image's `astronaut` (NASA, public domain) made into an ID photo.

`good_photo()` enlarges her ×4 so she has the pixels, and replaces her mottled studio backdrop
with plain light grey; tests derive every bad case from it.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFilter
from skimage import data as skdata


@functools.cache
def _astronaut_mask() -> Image.Image:
    """255 on astronaut's head, hair and shoulders, 0 on her backdrop (and the shuttle beside her)."""
    rgb = skdata.astronaut().astype(int)
    backdrop = (rgb.max(axis=2) - rgb.min(axis=2) < 32) & (rgb.mean(axis=2) > 150)  # light and grey
    keep = Image.new("L", (512, 512), 0)
    draw = ImageDraw.Draw(keep)
    draw.ellipse((150, 8, 308, 190), fill=255)  # head and hair
    draw.ellipse((10, 150, 425, 700), fill=255)  # helmet ring and shoulders
    draw.rectangle((185, 120, 270, 200), fill=255)  # chin and neck
    face = Image.new("L", (512, 512), 0)
    ImageDraw.Draw(face).ellipse((178, 60, 275, 180), fill=255)  # the face keeps its own light pixels
    kept = (np.asarray(keep) > 0) & (~backdrop | (np.asarray(face) > 0))
    mask = Image.fromarray(kept.astype(np.uint8) * 255)
    return mask.filter(ImageFilter.MedianFilter(5)).filter(ImageFilter.MaxFilter(3))


def photo_on(backdrop: Image.Image) -> Image.Image:
    """Astronaut enlarged ×4 in front of a 2048×2288 backdrop, with 240 px more room above her head."""
    scale, top = 4, 60
    person = Image.fromarray(skdata.astronaut()).resize((512 * scale, 512 * scale), Image.Resampling.LANCZOS)
    mask = _astronaut_mask().resize(person.size, Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(scale))
    photo = backdrop.convert("RGB").resize((512 * scale, (512 + top) * scale))
    photo.paste(person, (0, top * scale), mask)
    return photo


@functools.cache
def _good_photo(fill: int) -> Image.Image:
    return photo_on(Image.new("RGB", (2048, 2288), (fill,) * 3))


def good_photo(fill: int = 235) -> Image.Image:
    """A 2048×2288 ID photo of astronaut on a plain background of the given grey."""
    return _good_photo(fill).copy()


def jpeg_bytes(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, **options)
    return out.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@functools.cache
def good_jpeg() -> bytes:
    return jpeg_bytes(good_photo())
