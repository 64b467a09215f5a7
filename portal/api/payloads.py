"""What the API reads and writes: request bodies checked field by field, orders as plain dicts.

An order leaves as metadata, its frozen quote and its cards' numbers, templates and results:
no pupil's name, PESEL, photo or address (those travel only inside the encrypted package).
"""

from __future__ import annotations

import json
from decimal import Decimal

from flask import request

from infra import text as text_rules
from portal.api.errors import ApiError
from printing import deletions
from printing import fulfilment
from printing.models import PrintOrder
from tenants.pupils import text_entry

MAX_RESULTS = 2000


def _invalid(message: str) -> ApiError:
    return ApiError(422, "validation_error", message)


def body() -> dict:
    """The request's JSON object ({} when there is no body); 400 when it is not JSON."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_request", "Treść żądania nie jest poprawnym JSON-em.") from None
    if not isinstance(data, dict):
        raise _invalid("Treść żądania musi być obiektem JSON.")
    return data


def text(data: dict, name: str, *, max_length: int, required: bool = True) -> str:
    """A string field: present when required, at most `max_length` characters, storable (valid
    Unicode; no control character or bidirectional control, not invisible characters alone:
    `infra.text`, the rule every form field meets too)."""
    value = data.get(name)
    if value is None:
        if required:
            raise _invalid(f"Brak pola „{name}”.")
        return ""
    if not isinstance(value, str):
        raise _invalid(f"Pole „{name}” musi być tekstem.")
    if len(value) > max_length:
        raise _invalid(f"Pole „{name}” może mieć najwyżej {max_length} znaków.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid(f"Pole „{name}” zawiera nieprawidłowe znaki.") from None
    finding = text_rules.check(value)
    if finding is not None:
        raise _invalid(text_entry.message(finding, name))
    return value


def amount(data: dict, name: str) -> str:
    """A money field as a number or a decimal string; the domain parses and range-checks it."""
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _invalid(f"Pole „{name}” musi być kwotą (liczbą albo tekstem, np. \"123.45\").")
    if isinstance(value, str):
        return text(data, name, max_length=20)
    return str(value)


def results(data: dict) -> list[fulfilment.ItemResult]:
    rows = data.get("results")
    if not isinstance(rows, list) or not rows:
        raise _invalid("Pole „results” musi być niepustą listą wyników kart.")
    if len(rows) > MAX_RESULTS:
        raise _invalid(f"Najwyżej {MAX_RESULTS} wyników w jednym żądaniu.")
    parsed = []
    for row in rows:
        if not isinstance(row, dict):
            raise _invalid("Każdy wynik musi być obiektem JSON.")
        outcome = text(row, "outcome", max_length=10)
        if outcome not in ("printed", "rejected"):
            raise _invalid("Pole „outcome” to „printed” albo „rejected”.")
        parsed.append(fulfilment.ItemResult(
            card_number=text(row, "card_number", max_length=30), outcome=outcome,
            blank_serial=text(row, "blank_serial", max_length=40, required=False),
            chip_uid=text(row, "chip_uid", max_length=64, required=False),
            reason=text(row, "reason", max_length=300, required=False)))
    return parsed


# --- out --------------------------------------------------------------------------------------


def _money(value) -> str | None:
    return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def order_summary(order: PrintOrder) -> dict:
    return {
        "id": order.id,
        "status": order.status,
        "school": {"id": order.school_id, "name": order.school.name},
        "card_count": order.card_count,
        "first_number": order.first_number,
        "last_number": order.last_number,
        "total": _money(order.total_price),
        "due_date": _iso(order.due_date),
        "submitted_at": _iso(order.submitted_at),
        "reprint_of": order.reprint_of_id,
    }


def _quote(order: PrintOrder) -> dict | None:
    quote = order.quote
    if not isinstance(quote, dict):
        return None
    return {
        "quantity": quote.get("quantity"),
        "unit_price": quote.get("unit_price"),
        "surcharge_total": quote.get("surcharge_total"),
        "shipping": quote.get("shipping"),
        "total": quote.get("total"),
        "lead_time_days": quote.get("lead_time_days"),
        "lead_time_working": bool(quote.get("lead_time_working")),
        "ordered_on": quote.get("ordered_on"),
        "due_date": quote.get("due_date"),
    }


def deletion(order: PrintOrder, confirmation, *, already_confirmed: bool) -> dict:
    """The printer's deletion confirmation of an order (docs/domain.md §23)."""
    return {
        "order_id": order.id,
        "confirmed_at": _iso(confirmation.confirmed_at),
        "confirmed_via": confirmation.via,
        "method": confirmation.method or None,
        "statement": confirmation.statement or None,
        "due_on": _iso(deletions.due_on(order)),
        "already_confirmed": already_confirmed,
    }


def _deletion_standing(order: PrintOrder) -> dict | None:
    standing = deletions.standing(order)
    if standing is None:
        return None
    confirmation = standing.confirmation
    return {"due_on": _iso(standing.due_on), "days_overdue": standing.days_overdue,
            "confirmed_at": _iso(confirmation.confirmed_at) if confirmation else None}


def order_detail(order: PrintOrder) -> dict:
    detail = order_summary(order)
    invoice = None
    if order.invoice_number:
        invoice = {"number": order.invoice_number, "net": _money(order.invoice_net), "vat": _money(order.invoice_vat),
                   "gross": _money(order.invoice_gross), "recorded_at": _iso(order.invoice_recorded_at),
                   "differs_from_quote": bool(order.invoice_mismatch)}
    detail.update({
        "quote": _quote(order),
        "package": {"sha256": order.package_sha256, "downloadable": fulfilment.can_download(order)},
        "accepted_at": _iso(order.accepted_at),
        "downloaded_at": _iso(order.downloaded_at),
        "printed_at": _iso(order.printed_at),
        "shipped_at": _iso(order.shipped_at),
        "delivered_at": _iso(order.delivered_at),
        "rejected_at": _iso(order.rejected_at),
        "rejection_reason": order.rejection_reason or None,
        "shipment": ({"carrier": order.carrier, "tracking_number": order.tracking_number}
                     if order.carrier else None),
        "invoice": invoice,
        "deletion": _deletion_standing(order),
        "items": [{"card_number": item.card_label, "template_code": item.template_code, "outcome": item.outcome,
                   "blank_serial": item.blank_serial or None, "chip_uid": item.chip_uid or None,
                   "reason": item.reason or None, "reported_at": _iso(item.reported_at)}
                  for item in fulfilment.items(order)],
    })
    return detail
