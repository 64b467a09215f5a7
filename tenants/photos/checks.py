"""Check a pupil's photo against the card's rules and frame it to 492×633 around the face.

Pure: no Flask, no database. `check_photo` decodes the upload with the bounded decoder of
`tenants.photos.decode` (a non-image, a file over 15 MB, a decompression bomb or a corrupt file raise
`PhotoError`), finds the face with OpenCV's Haar cascade, crops a 35:45 box so the head is about
75 % of its height, and measures the rest on that framed 492×633 picture, so every threshold is
independent of the camera's resolution. Each school sets how strict each check is (`Severity`).

The thresholds were measured on scikit-image's `astronaut` (a real face; the test module builds a
"good" ID photo from it) and its derivatives; the figures are in the comments beside them.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import threading
from collections.abc import Mapping

import cv2
import numpy as np
from PIL import Image

from tenants.photos.decode import HEIGHT
from tenants.photos.decode import WIDTH
from tenants.photos.decode import Decoded
from tenants.photos.decode import encode_jpeg
from tenants.photos.decode import open_photo

MB = 1024 * 1024
MAX_BYTES = 15 * MB  # larger files are refused outright (PhotoError)
ADVISED_BYTES = 5 * MB  # docs/domain.md §11: schools ask for ≤5 MB; larger is only a warning, we re-encode anyway
ASPECT = 7 / 9  # 35 × 45 mm
# A JPEG decoded at 1/2 (1/4, 1/8) scale may leave the box up to 10 % short of 633 px and be enlarged:
# invisible, and a 12 MP photo then decodes in a quarter of the time.
UPSCALE_SLACK = 0.9
GREY_STRIP_PIXELS = 256 * 1024  # `_grey` converts this many pixels at a time
REFINE_MARGIN = 0.1  # a second decode covers the face's box and `_refine`'s crop with this share of the box's height


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    OFF = "off"


# code -> (label on the school's settings page, default severity); the order is the display order.
CHECKS: dict[str, tuple[str, Severity]] = {
    "file_size": ("Plik większy niż 5 MB", Severity.WARNING),
    "min_pixels": ("Rozdzielczość co najmniej 492×633 px (fragment z twarzą)", Severity.ERROR),
    "face": ("Na zdjęciu dokładnie jedna twarz", Severity.ERROR),
    "face_size": ("Głowa zajmuje 70–80 % wysokości zdjęcia", Severity.WARNING),
    "centred": ("Twarz na środku zdjęcia", Severity.WARNING),
    "background": ("Tło jasne i jednolite", Severity.WARNING),
    "sharpness": ("Zdjęcie ostre", Severity.WARNING),
    "brightness": ("Twarz ani za ciemna, ani prześwietlona", Severity.WARNING),
}

# Detection runs on greyscale copies scaled so that the smallest face looked for is the cascade's
# 24 px window: most of the cost is at the smallest scale. First faces of ≥20 % of the short side
# (a copy 120 px on its short side: 12 ms on the 2-vCPU machine measured), then, only when that finds
# no face or one small enough (<40 %) for a second face of 10–20 % to count, faces of ≥10 % (240 px:
# 40 ms). A face below 10 % of the short side frames to < 492×633 px anyway up to 12 megapixels.
COARSE_FACE_SHARE = 0.20
MIN_FACE_SHARE = 0.10
DETECT_LONG_SIDE = 1024  # panoramas
# At 240 px, minNeighbors 6 finds exactly the one face in 24 copies of astronaut (×1–×4, JPEG quality
# 75/90, decoded at 1/1–1/8), in the good photo blurred (radius 2–8), darkened to 20 % or brightened to
# 160 %, and nothing on 18 other scikit-image pictures at ×1, ×3, ×4 (chelsea, coffee, camera, cat,
# rocket, coins, page, …); 4 and 5 see a second face in astronaut's backdrop or on coins, and at 200 px
# the darkened and brightened faces are lost. At 120 px it finds the face in framed, blurred, darkened
# and brightened copies of the good photo and in astronaut crops, and nothing on those 18 pictures.
MIN_NEIGHBOURS = 6
# Every face found is detected again on a crop scaled so the face is REFINE_FACE px (`_refine`): that
# box is the one measured, and a face not found again is dropped. Through the whole pipeline this
# leaves exactly one face in 18 astronaut copies and variants, and none in 51 pictures without a face
# (17 scikit-image pictures at ×1, ×3, ×4), where without it astronaut at 1600 px had a second
# "face" in her backdrop. On that backdrop crop REFINE_NEIGHBOURS 3 finds nothing, her face is found
# even at 6.
REFINE_FACE = 80  # px
REFINE_NEIGHBOURS = 3
OTHER_FACE_SHARE = 0.5  # a second face counts when it is at least half as wide as the largest one

# Head (crown to chin) estimated from the refined Haar box (see `_refine`) of height h. On astronaut
# (crown, the top of the hair, at y≈16 of 512, chin at y≈174) scaled to 300–2600 px and saved at JPEG
# quality 75 and 90 (18 copies), the head is 1.564 ± 0.016 h (1.524–1.576) and the crown
# 0.478 ± 0.012 h (0.451–0.490) above the box: head shares are good to about ±2 %.
CROWN_ABOVE = 0.48
HEAD_PER_FACE = 1.56
HEAD_SHARE = 0.75  # framing target, inside the required 70–80 %
FACE_SIZE_RANGE = (0.70, 0.80)
GROW_SHARE_MIN = 0.65  # see _frame
TOP_MARGIN = 0.08  # free space above the crown, as a share of the framed height

CENTRE_TOLERANCE = 0.08  # face centre at most 8 % of the width off the middle
CROWN_RANGE = (-0.03, 0.20)  # crown between just cut (−3 %) and a fifth of the height down

# Measured on the framed 492×633 photo; "good" is the test module's good_photo() (astronaut ×4 on a
# plain 235 grey), saved as JPEG quality 75/90/95 or PNG.
#
# Background: the framed photo outside an ellipse around head and hair, above the mouth.
HAIR_HALF_WIDTH = 0.85  # the ellipse's half width in Haar box widths: astronaut's hair reaches 0.74
HAIR_MARGIN = 0.04  # of the framed height, above the crown and below the chin
MIN_BACKGROUND_SHARE = 0.02  # fewer background pixels than this share of the photo: not judged
# Mean luminance (0–255): good 235; plain fills of 180, 150, 140, 25 measure just that; astronaut's own
# studio backdrop 194–195; the whole good photo darkened to 70 % / 60 %: 164 / 141.
BACKGROUND_MIN_LUMA = 160
# Spread: 95th − 5th percentile of the luminance, smoothed (σ 2 px) so sensor noise does not count.
# Good 0; plain with noise σ 8 / 15: 3.0 / 5.2; uneven light, 30 levels top to bottom: 2.5, 40 levels
# left to right: 12.0 (13.1 with noise σ 8), 60 levels: 18.6; astronaut's own mottled backdrop
# 18.4–18.9; stripes 200/220: 20, 200/240: 40; a shadow (235 → 170) beside the head: 65.
BACKGROUND_MAX_SPREAD = 16
# Sharpness: 100 × var(Laplacian) / var(pixels) of the face at half the framed size (≈ the 20×25 mm
# the card prints at 300 dpi), so that exposure and contrast do not count. Good 10.5–10.7; astronaut
# ×1, ×3, ×4 (own backdrop) 10.4–11.0; good darkened to 30–70 % or at half contrast 10.7–11.6,
# brightened to 120–160 % 11.4–17.7; good blurred (Gaussian, radius in px of the 2048 px picture)
# 1: 8.9, 2: 4.2, 3: 2.0, 4: 1.1, 6: 0.51. (The plain variance of the Laplacian at full framed size
# was 24–33 for good, 10.7 / 5.3 for radius 2 / 4, and fell to 9–15 for a merely darker face.)
SHARPNESS_MIN = 3
# Brightness of the face (mean luminance of the inner face box): good 172; darkened to 70 / 60 / 50 /
# 30 %: 120 / 101 / 86 / 51. The limit is low on purpose: dark skin that is well exposed must not be
# called underexposed (no such face ships in a package to calibrate on). Overexposed: share of face
# pixels ≥250 is 0.08 % in good, 9 / 26 / 63 % brightened to 120 / 130 / 160 % (mean 201 / 216 / 232).
FACE_LUMA_MIN = 60
FACE_LUMA_MAX = 230
CLIPPED_MAX_SHARE = 0.15


@dataclasses.dataclass(frozen=True)
class Finding:
    """A check that failed: its code (a key of CHECKS), the school's severity for it, a Polish message."""

    code: str
    severity: Severity
    message: str


@dataclasses.dataclass(frozen=True)
class PhotoResult:
    """The photo to store (492×633 JPEG, no metadata), the failed checks that are not off, in CHECKS order.

    `face_found` is true when the photo was framed around a face (also when there were several).
    """

    jpeg: bytes
    findings: tuple[Finding, ...]
    face_found: bool

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_policy(raw: Mapping[str, str] | None) -> dict[str, Severity]:
    """Every check's severity: the defaults overridden by `raw`; unknown codes are ignored.

    Raises `ValueError` for a severity other than "error", "warning" or "off".
    """
    policy = {code: default for code, (_label, default) in CHECKS.items()}
    for code, value in (raw or {}).items():
        if code in policy:
            try:
                policy[code] = Severity(value)
            except ValueError:
                raise ValueError(f"unknown severity {value!r} for photo check {code!r}") from None
    return policy


def check_photo(data: bytes, policy: Mapping[str, Severity | str] | None = None) -> PhotoResult:
    """Frame the photo to a clean 492×633 JPEG around the face and report what breaks the rules.

    Raises `tenants.photos.decode.PhotoError` when the upload cannot be used at all.
    """
    severities = parse_policy(policy)
    measured = _measure(data)
    findings = []
    for code, message in measured.failures:
        if severities[code] is not Severity.OFF:
            findings.append(Finding(code, severities[code], message))
    face_found = measured.face is not None
    return PhotoResult(jpeg=encode_jpeg(measured.framed), findings=tuple(findings), face_found=face_found)


@dataclasses.dataclass(frozen=True)
class _Measured:
    framed: Image.Image  # 492×633 RGB
    face: tuple[float, float, float, float] | None  # Haar box (x, y, w, h) in the framed picture
    failures: list[tuple[str, str]]  # (code, message) in CHECKS order
    values: dict[str, float]  # what was measured, for calibration


class _Source:
    """The upload decoded no larger than needed; coordinates are the original's (after EXIF orientation).

    A JPEG is decoded at 1/8, 1/4 or 1/2 scale when that is enough. Most of a JPEG's decoding time is
    spent whatever the scale (12 MP: 55 ms at 1/8, 75 ms at 1/2, 110 ms whole), so the first decode
    is already large enough for the box around any face the coarse pass finds (≥20 % of the short
    side); only a smaller face makes it decode again, larger, and then only the part around the
    face (`ensure`), so a 12 MP photo turned by its EXIF orientation never holds two whole copies.
    Every decode stays within the memory budget of `tenants.photos.decode`.
    """

    def __init__(self, data: bytes) -> None:
        self.photo = open_photo(data, max_bytes=MAX_BYTES)
        self.size = self.width, self.height = self.photo.size
        smallest_box = COARSE_FACE_SHARE * min(self.size) * HEAD_PER_FACE / HEAD_SHARE
        self._use(self.photo.decode(scale=min(1.0, HEIGHT * UPSCALE_SLACK / smallest_box)))

    def _use(self, decoded: Decoded) -> None:
        self.image = decoded.image
        self.scale = decoded.scale  # original pixels per decoded pixel
        self.origin = decoded.origin
        self.limited = decoded.limited
        left, top = self.origin
        self.region = (left, top, left + self.image.width * self.scale, top + self.image.height * self.scale)

    def face_in_pixels(self, face: tuple[float, ...]) -> tuple[float, ...]:
        return _scaled(face, 1 / self.scale, origin=self.origin)

    def face_from_pixels(self, face: tuple[float, ...]) -> tuple[float, ...]:
        x, y, w, h = _scaled(face, self.scale)
        return x + self.origin[0], y + self.origin[1], w, h

    def box_in_pixels(self, box: tuple[float, ...]) -> tuple[float, ...]:
        """A box (left, top, right, bottom) in decoded pixels, inside the decoded image."""
        left, top = self.origin
        return (max(0.0, (box[0] - left) / self.scale), max(0.0, (box[1] - top) / self.scale),
                min(float(self.image.width), (box[2] - left) / self.scale),
                min(float(self.image.height), (box[3] - top) / self.scale))

    def ensure(self, box: tuple[float, ...], face: tuple[float, ...] | None = None) -> bool:
        """Decode again, less reduced, if `box` (in original pixels) has too few decoded pixels or is not decoded.

        The new decode covers `box` and the area `_refine` looks at around `face`, with a margin.
        """
        box_h = _box_height(box)
        need = min(1.0, HEIGHT / box_h)
        decoded_height = math.floor(self.height / self.scale + 0.5)  # of the whole picture at this scale
        enough = self.limited or decoded_height >= math.floor(self.height * need * UPSCALE_SLACK)
        tolerance = 2 * self.scale  # a pixel's rounding either way
        inside = (box[0] >= self.region[0] - tolerance and box[1] >= self.region[1] - tolerance
                  and box[2] <= self.region[2] + tolerance and box[3] <= self.region[3] + tolerance)
        if enough and inside:
            return False
        left, top, right, bottom = box
        if face is not None:
            x, y, w, h = face
            reach = 1.25 * w  # what `_refine` crops around the face
            left, top = min(left, x + w / 2 - reach), min(top, y + h / 2 - reach)
            right, bottom = max(right, x + w / 2 + reach), max(bottom, y + h / 2 + reach)
        margin = REFINE_MARGIN * box_h
        region = (left - margin, top - margin, right + margin, bottom + margin)
        self.image = None  # the old pixels go before the new ones are decoded
        self._use(self.photo.decode(scale=need, region=region))
        return True


def _measure(data: bytes) -> _Measured:
    source = _Source(data)
    faces = [source.face_from_pixels(face) for face in _detect_faces(source.image)]
    if faces:
        if source.ensure(_frame(faces[0], source.size)[0], faces[0]):  # a small face: look again, sharper
            faces[0] = source.face_from_pixels(_refine(source.image, source.face_in_pixels(faces[0])) or
                                               source.face_in_pixels(faces[0]))
        box, head_share = _frame(faces[0], source.size)
    else:
        box, head_share = _centred_box(source.size), None
    source.ensure(box)
    framed = source.image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS, reducing_gap=3.0,
                                 box=source.box_in_pixels(box))

    box_w, box_h = box[2] - box[0], _box_height(box)
    values: dict[str, float] = {"file_mb": len(data) / MB, "box_left": box[0], "box_top": box[1],
                                "box_w": box_w, "box_h": box_h, "decoded_scale": source.scale}
    failures: list[tuple[str, str]] = []
    if len(data) > ADVISED_BYTES:
        failures.append(("file_size", f"Plik ma {_num(len(data) / MB, 1)} MB, a zalecane jest najwyżej 5 MB. "
                                      "Zdjęcie zostało zmniejszone i zapisane na nowo, więc tym razem nic nie "
                                      "trzeba robić; następnym razem wystarczy mniejszy plik."))
    src_w, src_h = round(box_w), round(box_h)
    if src_w < WIDTH or src_h < HEIGHT:
        where = "fragment z twarzą ma" if faces else "zdjęcie przycięte do proporcji 35×45 ma"
        failures.append(("min_pixels", f"Zdjęcie ma za małą rozdzielczość: {where} tylko {src_w}×{src_h} px, a "
                                       f"potrzeba co najmniej {WIDTH}×{HEIGHT} px. Prześlij oryginalne zdjęcie z "
                                       "aparatu lub telefonu (nie pomniejszone, np. przez komunikator) albo zrób "
                                       "zdjęcie z bliższej odległości."))
    if not faces:
        failures.append(("face", "Nie znaleziono twarzy na zdjęciu. Zdjęcie powinno pokazywać twarz na wprost, "
                                 "z odsłoniętymi oczami, bez nakrycia głowy i ciemnych okularów."))
    elif len(faces) > 1:
        failures.append(("face", f"Na zdjęciu jest więcej niż jedna twarz (znaleziono {len(faces)}). Prześlij "
                                 "zdjęcie, na którym jest tylko uczeń."))

    gray = np.asarray(framed.convert("L"), dtype=np.float32)
    face = None
    if faces:
        face = _scaled(faces[0], HEIGHT / box_h, origin=box[:2])
        failures += _framing(face, head_share, values)
        failures += _background(gray, face, values)
        x, y, w, h = face
        region = gray[round(y + 0.1 * h):round(y + 0.9 * h), round(x + 0.15 * w):round(x + 0.85 * w)]
    else:  # where a face would be
        region = gray[round(HEIGHT * 0.2):round(HEIGHT * 0.7), round(WIDTH * 0.25):round(WIDTH * 0.75)]
    failures += _sharpness(region, face is not None, values)
    failures += _brightness(region, face is not None, values)
    order = list(CHECKS)
    failures.sort(key=lambda failure: order.index(failure[0]))
    return _Measured(framed=framed, face=face, failures=failures, values=values)


def _scaled(coords: tuple[float, ...], factor: float, origin: tuple[float, ...] = (0.0, 0.0)) -> tuple[float, ...]:
    """A face (x, y, w, h) or a box (left, top, right, bottom) in another picture's pixels.

    `origin` (only for faces: it moves x and y, not w and h) is subtracted first, then all is times `factor`.
    """
    return tuple(float(v) * factor for v in (coords[0] - origin[0], coords[1] - origin[1], *coords[2:]))


def _box_height(box: tuple[float, ...]) -> float:
    return box[3] - box[1]


_local = threading.local()


def _face_cascade() -> cv2.CascadeClassifier:
    """The frontal-face cascade, loaded once per thread (~18 ms): detectMultiScale keeps state in the object."""
    cascade = getattr(_local, "cascade", None)
    if cascade is None:
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        if cascade.empty():
            raise RuntimeError("OpenCV's haarcascade_frontalface_default.xml is missing (opencv-python 5 dropped it)")
        _local.cascade = cascade
    return cascade


def _detect_faces(image: Image.Image) -> list[tuple[float, float, float, float]]:
    """Faces as (x, y, w, h) in `image` pixels, largest first; small ones beside a large one are ignored.

    Each face the cascade finds is looked at again by `_refine`, which also drops what it cannot
    confirm (see REFINE_NEIGHBOURS).
    """
    gray = _grey(image)
    shrink = min(1.0, 24 / MIN_FACE_SHARE / min(gray.shape))  # no pass needs more pixels than this
    if shrink < 1:
        gray = cv2.resize(gray, (round(gray.shape[1] * shrink), round(gray.shape[0] * shrink)),
                          interpolation=cv2.INTER_AREA)
    found = [_scaled(face, 1 / shrink) for face in _cascade_pass(gray, COARSE_FACE_SHARE)]
    # Faces of 10–20 % of the short side only show in the finer pass. It is skipped when the largest
    # face is so large that faces that small would not count anyway.
    if not found or found[0][2] * shrink * OTHER_FACE_SHARE < COARSE_FACE_SHARE * min(gray.shape):
        found = [_scaled(face, 1 / shrink) for face in _cascade_pass(gray, MIN_FACE_SHARE)]
    faces = sorted(filter(None, (_refine(image, face) for face in found)), key=lambda face: -face[2])
    return [face for face in faces if face[2] >= OTHER_FACE_SHARE * faces[0][2]]


def _grey(image: Image.Image, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """`box` of the image (all of it by default) in greyscale, converted a strip of rows at a time.

    The same pixels as `np.asarray(image.crop(box).convert("L"))`, which would hold an RGB crop,
    its grey copy and the bytes numpy reads it through at once: up to 7 bytes a pixel of a
    picture decoded whole, where this holds the one byte of the result.
    """
    left, top, right, bottom = box or (0, 0, image.width, image.height)
    grey = np.empty((bottom - top, right - left), dtype=np.uint8)
    rows = max(1, GREY_STRIP_PIXELS // max(1, right - left))
    for y in range(top, bottom, rows):
        end = min(bottom, y + rows)
        grey[y - top:end - top] = np.asarray(image.crop((left, y, right, end)).convert("L"))
    return grey


def _cascade_pass(gray: np.ndarray, share: float) -> list[tuple[float, float, float, float]]:
    """Faces of at least `share` of the short side, on a copy where they are 24 px (the cascade's window)."""
    shrink = min(1.0, 24 / (share * min(gray.shape)), DETECT_LONG_SIDE / max(gray.shape))
    if shrink < 1:
        gray = cv2.resize(gray, (round(gray.shape[1] * shrink), round(gray.shape[0] * shrink)),
                          interpolation=cv2.INTER_AREA)
    smallest = max(24, round(share * min(gray.shape)))
    found = _face_cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=MIN_NEIGHBOURS,
                                             minSize=(smallest, smallest))
    return sorted((tuple(float(v) / shrink for v in face) for face in found), key=lambda face: -face[2])


def _refine(image: Image.Image, face: tuple[float, ...]) -> tuple[float, ...] | None:
    """Detect the face again with the face at REFINE_FACE px, where the Haar box's size is steady; None if not there.

    The box the cascade draws around a face depends on how many pixels the face has: on astronaut
    the head is 1.51 box heights at 40–50 px, 1.58–1.68 from 60 px up. The first pass sees faces at
    any size from 24 px; this pass looks again at a crop scaled so the face is about 80 px.
    """
    x, y, w, h = face
    cx, cy, reach = x + w / 2, y + h / 2, 1.25 * w
    left, top = max(0, round(cx - reach)), max(0, round(cy - reach))
    right, bottom = min(image.width, round(cx + reach)), min(image.height, round(cy + reach))
    k = REFINE_FACE / w
    crop = _grey(image, (left, top, right, bottom))
    gray = cv2.resize(crop, (max(1, round(crop.shape[1] * k)), max(1, round(crop.shape[0] * k))),
                      interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    found = _face_cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=REFINE_NEIGHBOURS,
                                             minSize=(round(REFINE_FACE * 0.8),) * 2,
                                             maxSize=(round(REFINE_FACE * 1.25),) * 2)
    if len(found) == 0:
        return None
    want = ((cx - left) * k, (cy - top) * k)
    fx, fy, fw, fh = min(found, key=lambda f: (f[0] + f[2] / 2 - want[0]) ** 2 + (f[1] + f[3] / 2 - want[1]) ** 2)
    return left + fx / k, top + fy / k, fw / k, fh / k


def _frame(face: tuple[float, ...], size: tuple[int, int]) -> tuple[tuple[float, ...], float]:
    """The 7:9 box (left, top, right, bottom) around a face, and the head's share of its height.

    A box with fewer pixels than the card grows to the card's 633 px when the head then still fills
    GROW_SHARE_MIN of it: a photo taken at exactly 492×633 keeps all its pixels (and gets a face_size
    warning rather than a min_pixels error when the head is a little small).
    """
    x, y, w, h = face
    width, height = size
    head = HEAD_PER_FACE * h
    box_h = head / HEAD_SHARE
    if box_h < HEIGHT <= head / GROW_SHARE_MIN:
        box_h = HEIGHT
    box_w = box_h * ASPECT
    fit = min(1.0, width / box_w, height / box_h)  # larger than the picture: the largest box that fits
    box_w, box_h = box_w * fit, box_h * fit
    left = min(max(0.0, x + w / 2 - box_w / 2), width - box_w)
    top = min(max(0.0, y - CROWN_ABOVE * h - TOP_MARGIN * box_h), height - box_h)
    return (left, top, left + box_w, top + box_h), head / box_h


def _centred_box(size: tuple[int, int]) -> tuple[float, ...]:
    """Without a face: the largest 7:9 box, centred across, a little above the middle (like normalise_photo)."""
    width, height = size
    box_w, box_h = min(width, height * ASPECT), min(height, width / ASPECT)
    left, top = (width - box_w) * 0.5, (height - box_h) * 0.4
    return left, top, left + box_w, top + box_h


def _framing(face, head_share, values) -> list[tuple[str, str]]:
    x, y, w, h = face
    values["head_share"] = head_share
    failures = []
    low, high = FACE_SIZE_RANGE
    share = _num(head_share * 100)
    if head_share > high:
        failures.append(("face_size", f"Twarz jest za blisko: głowa zajmuje ok. {share} % wysokości zdjęcia, a "
                                      "powinna 70–80 %. Zrób zdjęcie z nieco większej odległości, tak aby nad "
                                      "głową było trochę wolnego miejsca, a na dole widać było ramiona."))
    elif head_share < low:
        failures.append(("face_size", f"Twarz jest za daleko: głowa zajmuje tylko ok. {share} % wysokości zdjęcia, "
                                      "a powinna 70–80 %. Zrób zdjęcie z bliższej odległości."))
    off = (x + w / 2 - WIDTH / 2) / WIDTH
    crown = (y - CROWN_ABOVE * h) / HEIGHT
    values["centre_offset"], values["crown"] = off, crown
    problems = []
    if abs(off) > CENTRE_TOLERANCE:
        side = "w lewo" if off < 0 else "w prawo"
        problems.append(f"twarz jest przesunięta {side} o ok. {_num(abs(off) * 100)} % szerokości zdjęcia — "
                        "po obu stronach głowy powinno być tyle samo miejsca")
    if crown < CROWN_RANGE[0]:
        problems.append("głowa jest ucięta u góry — nad głową powinno być trochę wolnego miejsca")
    elif crown > CROWN_RANGE[1]:
        problems.append("głowa jest za nisko — nad głową jest za dużo wolnego miejsca")
    if problems:
        failures.append(("centred", f"Twarz nie jest na środku zdjęcia: {'; '.join(problems)}. Zrób zdjęcie na "
                                    "wprost, z aparatem na wysokości oczu."))
    return failures


def _background_mask(face) -> np.ndarray:
    """The framed photo's pixels beside and above the head: outside an ellipse around head and hair, above the mouth."""
    x, y, w, h = face
    crown = y - CROWN_ABOVE * h
    chin = crown + HEAD_PER_FACE * h
    rows, cols = np.ogrid[0:HEIGHT, 0:WIDTH]
    semi_x = HAIR_HALF_WIDTH * w
    semi_y = (chin - crown) / 2 + HAIR_MARGIN * HEIGHT
    inside = ((cols - (x + w / 2)) / semi_x) ** 2 + ((rows - (crown + chin) / 2) / semi_y) ** 2 <= 1
    return ~inside & (rows < y + 0.75 * h)


def _background(gray: np.ndarray, face, values) -> list[tuple[str, str]]:
    mask = _background_mask(face)
    if mask.sum() < MIN_BACKGROUND_SHARE * mask.size:
        return []
    pixels = gray[mask]
    smooth = cv2.GaussianBlur(gray, (0, 0), 2)[mask]  # sensor noise and JPEG blocks are not a pattern
    mean = float(pixels.mean())
    spread = float(np.percentile(smooth, 95) - np.percentile(smooth, 5))
    values["background_luma"], values["background_spread"] = mean, spread
    problems = []
    if mean < BACKGROUND_MIN_LUMA:
        problems.append(f"Tło jest za ciemne (średnia jasność {_num(mean)} na 255, potrzeba co najmniej "
                        f"{BACKGROUND_MIN_LUMA}).")
    if spread > BACKGROUND_MAX_SPREAD:
        problems.append(f"Tło nie jest jednolite (różnica jasności {_num(spread)}, dopuszczalna do "
                        f"{BACKGROUND_MAX_SPREAD}) — widać na nim wzory, przedmioty albo cienie.")
    if not problems:
        return []
    return [("background", " ".join(problems) + " Zrób zdjęcie na gładkim, jasnym tle, np. przed białą lub "
                                                "jasnoszarą ścianą, bez cieni.")]


def _sharpness(region: np.ndarray, is_face: bool, values) -> list[tuple[str, str]]:
    """Variance of the Laplacian at card size (half the framed size), relative to the region's own variance."""
    if min(region.shape) < 8 or region.var() < 1:
        return []
    half = cv2.resize(region, (region.shape[1] // 2, region.shape[0] // 2), interpolation=cv2.INTER_AREA)
    score = float(cv2.Laplacian(half, cv2.CV_32F).var() / max(half.var(), 1.0) * 100)
    values["sharpness"] = score
    if score >= SHARPNESS_MIN:
        return []
    what = "twarzy" if is_face else "środka zdjęcia"
    return [("sharpness", f"Zdjęcie jest nieostre (ostrość {what}: {_num(score, 1)}, potrzeba co najmniej "
                          f"{_num(SHARPNESS_MIN)}). Zrób zdjęcie przy dobrym świetle, trzymając aparat nieruchomo, "
                          "z ostrością ustawioną na twarz.")]


def _brightness(region: np.ndarray, is_face: bool, values) -> list[tuple[str, str]]:
    if region.size == 0:
        return []
    mean = float(region.mean())
    clipped = float((region >= 250).mean())
    values["face_luma"], values["face_clipped"] = mean, clipped
    what = "Twarz jest" if is_face else "Zdjęcie jest"
    if mean < FACE_LUMA_MIN:
        return [("brightness", f"{what} za ciemn{'a' if is_face else 'e'} (średnia jasność {_num(mean)} na 255, "
                               f"potrzeba co najmniej {FACE_LUMA_MIN}). Zrób zdjęcie przy lepszym, równym świetle, "
                               "np. twarzą do okna.")]
    if mean > FACE_LUMA_MAX or clipped > CLIPPED_MAX_SHARE:
        return [("brightness", f"{what} prześwietlon{'a' if is_face else 'e'} (średnia jasność {_num(mean)} na 255, "
                               f"{_num(clipped * 100)} % pikseli całkiem białych). Zrób zdjęcie bez lampy "
                               "błyskowej i bez ostrego światła padającego wprost na twarz.")]
    return []


def _num(value: float, digits: int = 0) -> str:
    """A number the Polish way: a decimal comma."""
    return f"{value:.{digits}f}".replace(".", ",")
