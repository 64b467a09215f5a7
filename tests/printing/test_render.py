"""Card PDFs: exact ID-1 pages, the printed fields, every template, no markup injection (T2.14); the print file
is the personalisation only, the full design only on specimens marked WZÓR (docs/domain.md §3)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from printing.card_layout import TITLES
from printing.card_layout import Calibration
from printing.card_layout import CardData
from printing.operations import valid_until
from printing.render import render_print_file
from printing.render import render_proof
from printing.render import render_specimen
from tests.helpers import jpeg
from tests.helpers import png


def card(**overrides) -> CardData:
    values = dict(card_number="17", template_code="MEiN-I/1", first_names="Zuzanna Łucja", surname="Żółkiewska",
                  date_of_birth=dt.date(2014, 5, 3), pesel="14250312345", school_name="Szkoła Podstawowa nr 18",
                  school_address="ul. Żółwia 12, 71-123 Szczecin", director_name="Grażyna Kowalczyk",
                  issue_date=dt.date(2026, 11, 21), valid_until=dt.date(2027, 9, 30), photo_jpeg=jpeg(492, 633))
    values.update(overrides)
    return CardData(**values)


def pages(pdf: bytes):
    return PdfReader(io.BytesIO(pdf)).pages


@pytest.mark.parametrize("template, title", [
    ("MEiN-I/1", "LEGITYMACJA SZKOLNA"), ("MEiN-I/2", "LEGITYMACJA SZKOLNA"), ("MEiN-I/3-N", "LEGITYMACJA SZKOLNA"),
    ("MEiN-I/4-N", "LEGITYMACJA SZKOLNA"), ("MEiN-I/5", "LEGITYMACJA PRZEDSZKOLNA"),
])
def test_each_template_gives_front_and_back_of_id1_size(template, title):
    front, back = pages(render_specimen([card(template_code=template)]))
    for page in (front, back):
        assert round(float(page.mediabox.width) / 72 * 25.4, 2) == 85.60
        assert round(float(page.mediabox.height) / 72 * 25.4, 2) == 53.98
    text = front.extract_text()
    for field in (title, template, "Zuzanna Łucja", "Żółkiewska", "03.05.2014", "14250312345",
                  "Szkoła Podstawowa nr 18", "ul. Żółwia 12, 71-123 Szczecin", "Grażyna Kowalczyk", "21.11.2026", "17"):
        assert field in text, field
    assert "30.09.2027" in back.extract_text() and "transportu" in back.extract_text()


def test_a_batch_keeps_card_order_across_render_chunks():
    cards = [card(card_number=str(n), surname=f"Nazwisko{n}") for n in range(1, 54)]  # 2 chunks of ≤50
    result = pages(render_specimen(cards))
    assert len(result) == 106
    assert "Nazwisko1" in result[0].extract_text() and "Nazwisko53" in result[104].extract_text()


def test_markup_in_data_is_printed_as_text_and_fetches_nothing():
    evil = '<img src="file:///etc/passwd"><b>X</b>'
    front, _ = pages(render_specimen([card(surname=evil)]))
    assert "file:///etc/passwd" in front.extract_text()  # shown literally, never loaded
    assert "root:" not in front.extract_text()


@pytest.mark.parametrize("issued, expected", [
    (dt.date(2026, 9, 1), dt.date(2027, 9, 30)),
    (dt.date(2026, 11, 21), dt.date(2027, 9, 30)),
    (dt.date(2027, 3, 2), dt.date(2027, 9, 30)),
    # after the summer cut-over (26.06.2027, the day after classes end on Friday 25.06): the coming
    # school year 2027/28 (issue 16, docs/domain.md §4); it used to be 30.09.2027
    (dt.date(2027, 8, 31), dt.date(2028, 9, 30)),
    (dt.date(2027, 6, 25), dt.date(2027, 9, 30)),
])
def test_validity_ends_30_september_of_the_school_year(issued, expected):
    assert valid_until(issued) == expected


def test_the_proof_is_a4_with_every_card_front_and_back_marked_as_a_specimen():
    reader = PdfReader(io.BytesIO(render_proof([card(card_number=str(i)) for i in range(1, 7)])))
    for page in reader.pages:
        assert abs(float(page.mediabox.width) / 72 * 25.4 - 210) < 0.5
        assert abs(float(page.mediabox.height) / 72 * 25.4 - 297) < 0.5
    text = " ".join(p.extract_text() for p in reader.pages)
    assert text.count("WZÓR") >= 12  # each front and back, plus the page header
    assert text.count("ulgowych przejazdów") == 6 and len(reader.pages) == 2  # 6 cards: 4 rows fit a page


# --- The print file: personalisation only, calibrated -------------------------------------------------------------

TEMPLATES = ["MEiN-I/1", "MEiN-I/2", "MEiN-I/3-N", "MEiN-I/4-N", "MEiN-I/5"]
FRONT_VALUES = ("Zuzanna Łucja", "Żółkiewska", "03.05.2014", "14250312345", "Szkoła Podstawowa nr 18",
                "ul. Żółwia 12, 71-123 Szczecin", "Grażyna Kowalczyk", "21.11.2026", "17")
STATIC_FRONT = ("LEGITYMACJA", "RZECZPOSPOLITA POLSKA", "Imię (imiona)", "Nazwisko", "Data urodzenia", "PESEL",
                "Nazwa i adres szkoły", "Dyrektor szkoły", "Data wydania")
STATIC_BACK = ("Poświadcza", "ulgowych przejazdów", "Data ważności", "Legitymacja szkolna")
MM = 25.4 / 72


def mm(points) -> float:
    return float(points) * MM


def placed(page) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, ...]]]:
    """Where each text starts on the page ({text: (x, y) mm from the top-left, at the baseline}),
    text inside the design's form XObject included, and where each XObject is drawn ({name:
    (width, height, x, y) mm from the bottom-left})."""
    height = mm(page.mediabox.height)
    objects, matrices = {}, {}

    def collect(into):
        def text(value, cm, tm, _font, _size):
            if value.strip():
                into.setdefault(value.strip(), (tm[4] * cm[0] + tm[5] * cm[2] + cm[4],
                                                tm[4] * cm[1] + tm[5] * cm[3] + cm[5]))
        return text

    def operator(op, args, cm, _tm):
        if op == b"Do" and str(args[0]) not in objects:
            objects[str(args[0])] = (mm(cm[0]), mm(cm[3]), mm(cm[4]), mm(cm[5]))
            matrices[str(args[0])] = cm

    found: dict[str, tuple[float, float]] = {}
    page.extract_text(visitor_text=collect(found), visitor_operand_before=operator)
    # pypdf reports text inside a form in the form's own space: place it where the form is drawn
    for name, xobject in page["/Resources"].get("/XObject", {}).items():
        if xobject.get_object()["/Subtype"] == "/Form":
            inner: dict[str, tuple[float, float]] = {}
            page.extract_xform_text(xobject.get_object(), visitor_text=collect(inner))
            a, b, c, d, e, f = matrices[name]
            for value, (x, y) in inner.items():
                found[value] = (a * x + c * y + e, b * x + d * y + f)
    return {value: (mm(x), height - mm(y)) for value, (x, y) in found.items()}, objects


CALIBRATIONS = [Calibration(), Calibration(offset_x_mm=2.5, offset_y_mm=-1.7, bleed_mm=1.5),
                Calibration(bleed_mm=0.5), Calibration(-5, 5, 3)]
CALIBRATION_IDS = ["plain", "shifted", "bled", "limits"]


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("calibration", CALIBRATIONS, ids=CALIBRATION_IDS)
def test_every_page_is_id1_and_the_fields_are_text(template, calibration):
    cards = [card(template_code=template), card(template_code=template, card_number="18", surname="Nowak")]
    result = pages(render_print_file(cards, calibration))
    assert len(result) == 4
    for page in result:
        assert round(mm(page.mediabox.width), 2) == 85.60 and round(mm(page.mediabox.height), 2) == 53.98
        assert page.cropbox == page.mediabox
    front = result[0].extract_text()
    for value in FRONT_VALUES:
        assert value in front, value
    assert "Nowak" in result[2].extract_text() and "Żółkiewska" not in result[2].extract_text()  # order kept
    assert "30.09.2027" in result[1].extract_text()
    assert template not in front and TITLES[template] not in front  # the blank carries them, whatever the printer


@pytest.mark.parametrize("calibration", CALIBRATIONS, ids=CALIBRATION_IDS)
def test_every_print_file_carries_only_the_variable_data(calibration):
    front, back = pages(render_print_file([card()], calibration))
    front_text, back_text = front.extract_text(), back.extract_text()
    for value in FRONT_VALUES:
        assert value in front_text, value
    for static in (*STATIC_FRONT, "MEiN-I/1", "Nr"):
        assert static not in front_text, static
    assert back_text.strip() == "30.09.2027"
    for static in STATIC_BACK:
        assert static not in back_text
    # no background or design: the front draws the photo and nothing else, the back no object at all
    assert list(placed(front)[1]) == ["/P"] and placed(back)[1] == {}
    full_front, full_back = pages(render_specimen([card()]))
    for static in STATIC_FRONT:
        assert static in full_front.extract_text(), static
    for static in STATIC_BACK:
        assert static in full_back.extract_text(), static


# What the blank carries (docs/domain.md §3): none of it may be in a print file, as text or as drawing.
DESIGN_TEXT = ("LEGITYMACJA SZKOLNA", "LEGITYMACJA PRZEDSZKOLNA", "Legitymacja", "RZECZPOSPOLITA POLSKA",
               "Imię (imiona)", "Nazwisko", "Data urodzenia", "PESEL", "Dokument tożsamości", "Nazwa i adres szkoły",
               "Dyrektor szkoły", "Data wydania", "Data ważności:", "Poświadcza", "transportu", "MEiN-I", "WZÓR")
# Only text, the clipped photo and the graphics state: no fill, stroke, shading or inline image.
ALLOWED_OPERATORS = {"q", "Q", "cm", "re", "W", "n", "Do", "BT", "ET", "Tf", "Tc", "Tz", "rg", "Tm", "TJ"}


def personalisation(c: CardData) -> tuple[str, str]:
    """Everything a card's front and back may print: its variable data."""
    front = "\n".join((c.first_names, c.surname, c.date_of_birth.strftime("%d.%m.%Y"), c.pesel,
                       f"{c.school_name} {c.school_address}", c.director_name, c.issue_date.strftime("%d.%m.%Y"),
                       c.card_number))
    return front, c.valid_until.strftime("%d.%m.%Y")


@pytest.mark.parametrize("calibration", CALIBRATIONS, ids=CALIBRATION_IDS)
def test_no_print_file_carries_the_design_in_its_text_images_or_drawing(calibration):
    import pikepdf

    cards = [card(template_code=t, card_number=str(n), photo_jpeg=stored(jpeg(492, 633, color=(n * 40, 90, 120))))
             for n, t in enumerate(TEMPLATES, start=1)]
    cards.append(card(card_number="9", pesel="paszport FA1234567", photo_jpeg=cards[0].photo_jpeg))
    data = render_print_file(cards, calibration)
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "Legitymacje - plik do druku: tylko personalizacja"
    for i, c in enumerate(cards):
        for page, allowed in zip(reader.pages[2 * i:2 * i + 2], personalisation(c), strict=True):
            text = page.extract_text()
            for static in DESIGN_TEXT:
                assert static not in text, (c.template_code, static)
            texts = placed(page)[0]
            assert texts and all(value in allowed for value in texts), (set(texts), allowed)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        images = []
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                assert obj.get("/Subtype") != "/Form" and "/ShadingType" not in obj  # no design, no background
                if obj.get("/Subtype") == "/Image":
                    images.append(bytes(obj.read_raw_bytes()))
        assert sorted(images) == sorted({c.photo_jpeg for c in cards})  # the only raster images: the photos
        for number, page in enumerate(pdf.pages):
            assert set(page.Resources.get("/XObject", {}).keys()) == ({"/P"} if number % 2 == 0 else set())
            assert "/Shading" not in page.Resources and "/Pattern" not in page.Resources
            operators = [str(op) for _, op in pikepdf.parse_content_stream(page)]
            assert set(operators) <= ALLOWED_OPERATORS, set(operators) - ALLOWED_OPERATORS
            # the one rectangle on a page is the photo window, a clip (re W n), never painted
            assert operators.count("re") == operators.count("W") == (1 if number % 2 == 0 else 0)
            if "re" in operators:
                assert operators[operators.index("re") + 1:operators.index("re") + 3] == ["W", "n"]


def test_the_print_file_puts_every_field_where_the_full_design_has_it():
    full, blank = pages(render_specimen([card()])), pages(render_print_file([card()], Calibration()))
    for full_page, blank_page in zip(full, blank, strict=True):
        design, variable = placed(full_page)[0], placed(blank_page)[0]
        assert variable
        for value, where in variable.items():
            assert design[value] == pytest.approx(where, abs=0.01), value
    assert placed(full[0])[1]["/P"] == pytest.approx(placed(blank[0])[1]["/P"], abs=0.01)


@pytest.mark.parametrize("bleed", [0.0, 1.5])
@pytest.mark.parametrize("dx, dy", [(2.5, -1.7), (-5, 5), (0.3, 0)])
def test_offsets_move_everything_printed_by_the_right_amount(bleed, dx, dy):
    base = pages(render_print_file([card()], Calibration(bleed_mm=bleed)))
    moved = pages(render_print_file([card()], Calibration(offset_x_mm=dx, offset_y_mm=dy, bleed_mm=bleed)))
    for before, after in zip(base, moved, strict=True):
        (texts, objects), (texts2, objects2) = placed(before), placed(after)
        assert texts.keys() == texts2.keys() and objects.keys() == objects2.keys()
        for value, (x, y) in texts.items():
            assert texts2[value][0] - x == pytest.approx(dx, abs=0.2), value
            assert texts2[value][1] - y == pytest.approx(dy, abs=0.2), value  # + is down
        for name, (w, h, x, y) in objects.items():  # the photo: same size, moved
            assert objects2[name][:2] == pytest.approx((w, h), abs=0.01)
            assert objects2[name][2] - x == pytest.approx(dx, abs=0.2), name
            assert objects2[name][3] - y == pytest.approx(-dy, abs=0.2), name  # PDF y grows upwards


def test_bleed_grows_the_photo_into_the_window_of_a_blank():
    plain = placed(pages(render_print_file([card()], Calibration()))[0])[1]["/P"]
    bled = placed(pages(render_print_file([card()], Calibration(bleed_mm=1.0)))[0])[1]["/P"]
    width, height, x, y = plain
    assert width == pytest.approx(20.0, abs=0.05) and height >= 25.0  # covers the 20 × 25 mm window (clipped)
    assert bled[0] >= width + 2.0 - 0.01 and bled[1] >= height + 2.0 - 0.01
    assert bled[2] <= x - 1.0 + 0.01 and bled[3] <= y - 1.0 + 0.01


def test_bleed_grows_no_background_since_the_print_file_has_none():
    reader = PdfReader(io.BytesIO(render_print_file([card()], Calibration(bleed_mm=2.0))))
    for page in reader.pages:
        assert "/D" not in page["/Resources"].get("/XObject", {}) and "/Shading" not in page["/Resources"]
    design = PdfReader(io.BytesIO(render_specimen([card()]))).pages[0]["/Resources"]["/XObject"]["/D"].get_object()
    left, bottom, right, top = (mm(v) for v in design["/BBox"])  # the specimen's design: the card, no bleed
    assert (left, bottom) == (pytest.approx(0.0, abs=0.01), pytest.approx(0.0, abs=0.01))
    assert (right, top) == (pytest.approx(85.6, abs=0.01), pytest.approx(53.98, abs=0.01))
    assert b"/Bg sh" in design.get_data()


@pytest.mark.parametrize("bad", [
    dict(offset_x_mm=5.01), dict(offset_x_mm=-6), dict(offset_y_mm=5.5), dict(offset_y_mm=-5.2),
    dict(bleed_mm=-0.1), dict(bleed_mm=3.5), dict(offset_x_mm=float("nan")), dict(bleed_mm=float("inf")),
    dict(offset_x_mm="2"), dict(offset_y_mm=None), dict(bleed_mm=True),
])
def test_a_calibration_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match="Kalibracja"):
        Calibration(**bad)


def test_there_is_no_setting_for_printing_the_design():
    for flag in (True, "tak"):
        with pytest.raises(TypeError):
            Calibration(preprinted_blanks=flag)


def test_the_limits_themselves_are_allowed():
    from decimal import Decimal

    assert Calibration(Decimal("-5.00"), Decimal("1.25"), Decimal("3")).offset_x_mm == -5.0  # NUMERIC columns
    with pytest.raises(ValueError):
        Calibration(offset_y_mm=Decimal("5.01"))
    for calibration in (Calibration(5, -5, 3.0), Calibration(-5, 5, 0), Calibration(1, 2, 0.5)):
        assert len(pages(render_print_file([card()], calibration))) == 2
    with pytest.raises(ValueError):
        render_print_file([card()], {"offset_x_mm": 9})
    with pytest.raises(ValueError):
        render_print_file([], Calibration())


def test_a_specimen_is_the_full_design_marked_wzor_and_never_packed():
    from printing import package

    cards = [card(), card(card_number="18", template_code="MEiN-I/5", pesel="paszport FA1234567")]
    assert render_print_file(cards) == render_print_file(cards, Calibration())
    specimen = pages(render_specimen(cards))
    assert len(specimen) == 4
    for page in specimen:
        assert round(mm(page.mediabox.width), 2) == 85.60 and page.extract_text().count("WZÓR") == 1
    assert "LEGITYMACJA PRZEDSZKOLNA" in specimen[2].extract_text()
    for pdf in (render_specimen(cards), render_proof(cards)):
        with pytest.raises(package.PackageError, match="wyłącznie personalizację"):
            package.build(cards, pdf, "hasło-do-paczki-testowej", order_id=1)


def stored(data: bytes) -> bytes:
    """The photo as the intake stores it: pixels only (tenants.photos.decode.encode_jpeg)."""
    from PIL import Image

    from tenants.photos.decode import encode_jpeg

    return encode_jpeg(Image.open(io.BytesIO(data)))


def test_fonts_are_embedded_with_a_unicode_map_and_each_photo_once():
    photo = stored(jpeg(492, 633))
    other = stored(jpeg(492, 633, color=(200, 210, 220)))
    reader = PdfReader(io.BytesIO(render_specimen([card(photo_jpeg=photo), card(photo_jpeg=other),
                                                card(photo_jpeg=photo)])))
    fonts = {}
    images = {}
    for page in reader.pages:
        resources = page["/Resources"]
        for font in resources["/Font"].values():
            font = font.get_object()
            fonts[font["/BaseFont"]] = font
        for name, obj in resources["/XObject"].items():
            if name == "/P":
                images[obj.idnum] = obj.get_object()
    assert len(fonts) == 2
    for font in fonts.values():
        descendant = font["/DescendantFonts"][0].get_object()
        assert descendant["/FontDescriptor"]["/FontFile2"].get_data()[:4] == b"\x00\x01\x00\x00"
        assert "/ToUnicode" in font
    assert len(images) == 2  # three cards, two distinct photos
    assert {img.get_data() for img in images.values()} == {photo, other}  # the JPEG bytes, unchanged


def test_long_values_shrink_into_their_box_and_stay_whole():
    surname = "Wróblewska-Żółkiewska-Brzęczyszczykiewicz-Grzegorzewska"
    school = ("Zespół Szkół Ogólnokształcących Specjalnych nr 12 im. Janusza Korczaka z Oddziałami "
              "Integracyjnymi i Sportowymi w Szczecinie")
    address = "ul. Księdza Kardynała Stefana Wyszyńskiego 123/125, 70-001 Szczecin"
    front = pages(render_specimen([card(surname=surname, school_name=school, school_address=address)]))[0]
    text = " ".join(front.extract_text().split())
    assert surname in text and school in text and address in text
    texts = placed(front)[0]
    director = texts["Grażyna Kowalczyk"]
    school_lines = [where for value, where in texts.items() if value.split()[0] in school + address
                    and where[1] > texts["Nazwa i adres szkoły"][1]]
    assert 2 <= len(school_lines) <= 3
    assert all(y < director[1] - 2 for _, y in school_lines)  # never runs into the next field


def test_a_pupil_without_pesel_shows_the_document_label_on_plain_stock():
    front = pages(render_specimen([card(pesel="paszport FA1234567")]))[0].extract_text()
    assert "Dokument tożsamości" in front and "paszport FA1234567" in front and "PESEL" not in front


def test_the_cross_reference_table_points_at_every_object():
    for data in (render_proof([card()]), render_print_file([card(), card(card_number="2")], Calibration(1, 1, 1))):
        xref = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
        lines = data[xref:].split(b"\n")
        assert lines[0] == b"xref"
        count = int(lines[1].split()[1])
        for number, line in enumerate(lines[3:3 + count - 1], start=1):
            offset = int(line.split()[0])
            assert data[offset:].startswith(b"%d 0 obj\n" % number), number


def test_a_photo_that_is_not_a_plain_rgb_jpeg_is_converted_once_and_odd_letters_do_not_break_it():
    from PIL import Image

    cmyk = io.BytesIO()
    Image.new("CMYK", (492, 633), (0, 40, 20, 0)).save(cmyk, "JPEG")
    for photo in (png(492, 633), cmyk.getvalue()):
        front = pages(render_specimen([card(photo_jpeg=photo, first_names="Олена 李 Zoë")]))[0]
        image = front["/Resources"]["/XObject"]["/P"].get_object()
        assert image["/ColorSpace"] == "/DeviceRGB" and image["/Filter"] == "/DCTDecode"
        assert (image["/Width"], image["/Height"]) == (492, 633)
        assert "Олена" in front.extract_text() and "Zoë" in front.extract_text()


def test_a_photo_carrying_metadata_reaches_the_print_file_without_it():
    """A stored photo from before the intake dropped comments (or any JPEG with EXIF, a comment, an APPn) is
    re-encoded from its pixels; a bare stored photo is embedded byte for byte."""
    from PIL import Image

    from tenants.photos.format import is_bare_jpeg

    out = io.BytesIO()
    Image.new("RGB", (492, 633), (220, 200, 190)).save(out, "JPEG", comment=b"Jan Kowalski, ul. Polna 1")
    legacy = out.getvalue()
    for photo in (legacy, jpeg(492, 633)):  # a comment; EXIF with a camera's serial number
        front = pages(render_specimen([card(photo_jpeg=photo)]))[0]
        embedded = front["/Resources"]["/XObject"]["/P"].get_object().get_data()
        assert is_bare_jpeg(embedded) and b"Kowalski" not in embedded and b"SERIAL-12345" not in embedded
    clean = stored(legacy)
    front = pages(render_specimen([card(photo_jpeg=clean)]))[0]
    assert front["/Resources"]["/XObject"]["/P"].get_object().get_data() == clean
