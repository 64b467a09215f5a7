"""Small builders shared by tests: images, pupils, orders through the real UI and operations."""

from __future__ import annotations

import datetime as dt
import io
import re

from PIL import Image
from PIL import ImageDraw

from tenants import pesel as pesel_rules


def jpeg(width=800, height=1000, *, gps=False, color=(230, 230, 235)) -> bytes:
    img = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(img)
    draw.ellipse((width * 0.3, height * 0.2, width * 0.7, height * 0.6), fill=(220, 180, 150))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0xA431] = "SERIAL-12345"  # BodySerialNumber
    if gps:
        exif[0x8825] = {1: "N", 2: (53.0, 25.0, 0.0), 3: "E", 4: (14.0, 33.0, 0.0)}
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png(width=600, height=800) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (240, 240, 240)).save(out, "PNG")
    return out.getvalue()


def pupil_form(first="Zuzanna", surname="Wróblewska", dob=dt.date(2019, 3, 14), sex="K", serial=123, **extra):
    data = {"first_names": first, "surname": surname, "date_of_birth": dob.strftime("%d.%m.%Y"), "sex": sex,
            "pesel": pesel_rules.make(dob, serial, sex), "class_name": "1a", "learner_type": "pupil"}
    data.update(extra)
    return data


def id_from_location(response) -> int:
    return int(re.search(r"/(\d+)(?:/[^/]*)?$", response.headers["Location"]).group(1))


def ui_pupil_with_photo(browser, **form) -> int:
    """Add a pupil and a photo through the school UI; returns the pupil id."""
    response = browser.post("/szkola/uczniowie/nowy", pupil_form(**form))
    assert response.status_code == 302, response.get_data(as_text=True)
    pupil_id = id_from_location(response)
    response = browser.post(f"/szkola/uczniowie/{pupil_id}/zdjecie",
                            {"photo": (io.BytesIO(jpeg()), "zdjecie.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    return pupil_id
