"""The pupil's form (`tenants.pupils.operations`) and the roster import (`tenants.roster.rows`) check the same
fields by one table (`tenants.pupils.fields`): the same value is refused by both, with the same
Polish message, or taken by both. Before the table they disagreed: `a@b.c` passed the form and
not the import, a 35-character document number or a pupil born last month passed only the form."""

from __future__ import annotations

import datetime as dt

import pytest

from tenants.pupils import fields as pupil_fields
from tenants.pupils import pesel as pesel_rules
from tenants.pupils.operations import PupilDetails
from tenants.pupils.operations import _clean
from tenants.roster.file import FIELDS
from tenants.roster.file import Table
from tenants.roster.rows import validate_rows
from tenants.tenancy.errors import OperationError

TODAY = dt.date(2025, 9, 1)
BORN = dt.date(2016, 4, 9)
MAPPING = {field: i for i, field in enumerate(FIELDS)}
BASE = {"surname": "Kowalska", "first_names": "Anna", "class_name": "3b", "book_number": "17/2022",
        "address": "", "parent_email": "", "id_document_type": "", "id_document_number": "", "pesel": ""}


def form(**values) -> str | None:
    """What the form says (its first problem), or None when it takes the values."""
    data = BASE | {"id_document_type": "paszport", "id_document_number": "AB123"} | values
    born = data.pop("date_of_birth", BORN)
    try:
        _clean(PupilDetails(date_of_birth=born, **data), today=TODAY)
    except OperationError as err:
        return str(err)
    return None


def import_errors(**values) -> tuple[str, ...]:
    data = BASE | {"id_document_type": "paszport", "id_document_number": "AB123"} | values
    born = data.pop("date_of_birth", BORN)
    cells = {"surname": data["surname"], "first_name": data["first_names"], "second_name": "",
             "date_of_birth": born.strftime("%d.%m.%Y"), "pesel": data["pesel"],
             "id_document_type": data["id_document_type"], "id_document_number": data["id_document_number"],
             "book_number": data["book_number"], "class_name": data["class_name"], "learner_type": "",
             "disabled": "", "sex": "", "address": data["address"], "parent_email": data["parent_email"],
             "status": ""}
    table = Table(headers=list(FIELDS.values()), rows=[(2, [cells[field] for field in FIELDS])])
    (result,) = validate_rows(table, MAPPING, today=TODAY)
    return result.errors


@pytest.mark.parametrize("values", [
    {"parent_email": "a@b.c"},  # the form took it before (its pattern wanted no two-letter domain)
    {"parent_email": "a@b.pl; c@d.pl"},
    {"parent_email": "Jan <jan@example.pl>"},
    {"parent_email": "j" * 250 + "@b.pl"},
    {"id_document_number": "A" * 31},  # the form allowed 40
    {"id_document_type": "d" * 51},  # the form allowed 60
    {"class_name": "x" * 21},
    {"book_number": "1" * 21},
    {"address": "a" * 301},
    {"surname": "K" + "a" * 100},
    {"first_names": "A" * 101},
    {"address": "ul. Polna\u202e 3"},  # the form named the field "Adres", the import "Adres zamieszkania"
    {"book_number": "17\x07"},
    {"date_of_birth": dt.date(2025, 9, 2)},  # "nie może być z przyszłości" in the form before
    {"date_of_birth": dt.date(2024, 8, 1)},  # the form took a pupil of one year
    {"date_of_birth": dt.date(1920, 1, 1)},  # … and one of 105
])
def test_the_form_and_the_import_refuse_the_same_values_with_the_same_message(values):
    said = form(**values)
    assert said is not None, values
    assert said in import_errors(**values), (said, import_errors(**values))


def test_a_two_letter_domain_is_refused_by_both_with_the_import_s_message():
    assert form(parent_email="a@b.c") == pupil_fields.EMAIL_MESSAGE
    assert import_errors(parent_email="a@b.c") == (pupil_fields.EMAIL_MESSAGE,)


@pytest.mark.parametrize("values", [
    {"parent_email": "mama@example.pl"}, {"parent_email": "a.b+c@sub.example.com"},
    {"id_document_number": "A" * 30}, {"id_document_type": "d" * 50}, {"class_name": "x" * 20},
    {"book_number": "1" * 20}, {"address": "a" * 300}, {"first_names": "A" * 100},
    {"date_of_birth": dt.date(2023, 9, 1)}, {"date_of_birth": dt.date(1925, 9, 1)},
])
def test_the_form_and_the_import_take_the_same_values(values):
    assert form(**values) is None
    assert import_errors(**values) == ()


def test_both_normalise_alike():
    details = _clean(PupilDetails(date_of_birth=BORN, **BASE | {
        "class_name": " 3  b ", "address": "ul.  Polna 3 ", "parent_email": " mama@example.pl ",
        "id_document_type": " paszport ", "id_document_number": "ab 123"}), today=TODAY)
    table = Table(headers=list(FIELDS.values()), rows=[(2, [{
        "surname": "Kowalska", "first_name": "Anna", "date_of_birth": "09.04.2016", "id_document_type": " paszport ",
        "id_document_number": "ab 123", "book_number": "17/2022", "class_name": " 3  b ", "address": "ul.  Polna 3 ",
        "parent_email": " mama@example.pl "}.get(field, "") for field in FIELDS])])
    (result,) = validate_rows(table, MAPPING, today=TODAY)
    row = result.row
    assert (details.class_name, details.address, details.parent_email, details.id_document_type,
            details.id_document_number) == (row.class_name, row.address, row.parent_email, row.id_document_type,
                                             row.id_document_number) == ("3 b", "ul. Polna 3", "mama@example.pl",
                                                                         "paszport", "AB123")


def test_a_pesel_pupil_s_details_agree_too():
    pesel = pesel_rules.make(BORN, 321, "K")
    assert form(pesel=pesel, id_document_type="", id_document_number="", parent_email="a@b.c") == \
        pupil_fields.EMAIL_MESSAGE
