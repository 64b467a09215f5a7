"""Template filters: Polish dates (dd.mm.rrrr) and amounts in zł as `infra.inputs` writes them, Polish labels
for states."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from markupsafe import Markup

from infra import clock
from infra import inputs
from reports import labels


def date_pl(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = local(value).date()
    return inputs.format_day(value)


def local(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:  # SQLite gives back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(clock.zone())


def datetime_pl(value) -> str:
    if value is None:
        return "—"
    value = local(value)
    return f"{inputs.format_day(value)}, {value:%H:%M}"


def money(value) -> str:
    """`1 234,50 zł` (`infra.inputs.format_money`); "—" for None."""
    if value is None:
        return "—"
    return inputs.format_money(value)


def amount(value) -> str:
    """`1 234,50` without the currency, e.g. a form's prefilled amount (`infra.inputs.format_amount`)."""
    if value is None:
        return ""
    return inputs.format_amount(value)


def plural(n, one, few, many) -> str:
    """The form that goes with the whole number `n` (`infra.inputs.plural`, the Polish rule):
    `{{ n|number }} {{ n|plural(_('karta'), _('karty'), _('kart')) }}`. Each form is its own msgid,
    so English translates `one` to the singular and `few`/`many` to the plural."""
    return inputs.plural(n if n is not None else 0, str(one), str(few), str(many))


def counted(n, one, few, many) -> str:
    """The number and its form: `{{ n|counted(_('karta'), _('karty'), _('kart')) }}` → "23 karty"."""
    return inputs.counted(n if n is not None else 0, str(one), str(few), str(many))


def number(value) -> str:
    """A whole number or decimal with thousands grouped: "10 000" (`infra.inputs.format_number`);
    a Decimal keeps its own decimal places ("7,90"); "—" for None."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        places = max(0, -value.as_tuple().exponent) if value.is_finite() else 0
        return inputs.format_number(value, places)
    return inputs.format_number(value)


def percent(value, places: int = 1) -> str:
    """"92,8 %" with a no-break space (`infra.inputs.format_percent`); "—" for None."""
    if value is None:
        return "—"
    return inputs.format_percent(value, places)


# Translated when shown (lazy), so a filter call costs one lookup, not one per state.
_ITEM_OUTCOME = {"pending": lazy_gettext("czeka"), "printed": lazy_gettext("wydrukowana"),
                 "rejected": lazy_gettext("odrzucona")}


def order_status(value: str) -> str:
    return labels.ORDER_STATES.label(value)


def item_outcome(value: str) -> str:
    label = _ITEM_OUTCOME.get(value)
    return str(label) if label is not None else value


def channel_label(value: str) -> str:
    return labels.CHANNELS.label(value)


def application_status(value: str) -> str:
    return {
        "submitted": _("złożony"), "approved": _("zatwierdzony"), "rejected": _("odrzucony"),
        "ordered": _("w zamówieniu"), "issued": _("legitymacja wydana"),
    }.get(value, value)


def application_kind(value: str) -> str:
    return labels.KINDS.label(value)


def card_status(value: str) -> str:
    return labels.CARD_STATES.label(value)


def pupil_status(value: str) -> str:
    return {"active": _("uczy się"), "left": _("odszedł ze szkoły"), "transferred": _("przeniesiony")}.get(value, value)


def photo_status(value: str) -> str:
    return {"missing": _("brak"), "pending": _("czeka na sprawdzenie"), "accepted": _("przyjęte"),
            "rejected": _("odrzucone")}.get(value, value)


def learner_type(value: str) -> str:
    return {"pupil": _("uczeń"), "adult": _("słuchacz (szkoła dla dorosłych)"),
            "preschool": _("dziecko w przygotowaniu przedszkolnym")}.get(value, value)


def photo_source(value: str) -> str:
    return {"staff": _("sekretariat"), "parent": _("rodzic (link)"), "zip": _("import ZIP"),
            "transfer": _("poprzednia szkoła (przeniesienie)")}.get(value, value)


def transfer_status(value: str) -> str:
    return {"pending": _("czeka na decyzję szkoły przyjmującej"), "accepted": _("przyjęta"),
            "declined": _("odrzucona"), "withdrawn": _("wycofana")}.get(value, value)


def sex_label(value: str | None) -> str:
    return {"K": _("kobieta"), "M": _("mężczyzna")}.get(value or "", "—")


def submission_status(value: str) -> str:
    return {"pending": _("czeka na sprawdzenie"), "accepted": _("przyjęte"), "rejected": _("odrzucone"),
            "superseded": _("zastąpione nowszym")}.get(value, value)


def qr_svg(url: str) -> Markup:
    """A QR code of `url` as inline SVG (no script, no external request)."""
    import segno

    # segno writes only <svg>/<path> geometry; the URL is encoded in the modules, never as text.
    return Markup(segno.make(url, error="m").svg_inline(scale=3, border=2))  # noqa: S704


def import_status(value: str) -> str:
    return {"needs_mapping": _("wskaż kolumny"), "checked": _("sprawdzony, czeka na potwierdzenie"),
            "queued": _("w kolejce"), "running": _("trwa"), "done": _("zakończony"), "failed": _("nieudany"),
            "discarded": _("odrzucony")}.get(value, value)


def import_action(value: str) -> str:
    return {"new": _("nowy uczeń"), "update": _("aktualizacja"), "unchanged": _("bez zmian"),
            "invalid": _("błąd — pominięty")}.get(value, value)


def zip_outcome(value: str) -> str:
    return {"queued": _("przypisane"), "unmatched": _("nieprzypisane"), "ambiguous": _("niejednoznaczne"),
            "refused": _("odrzucone")}.get(value, value)


def severity(value: str) -> str:
    return {"error": _("błąd — odrzuć"), "warning": _("ostrzeżenie"), "off": _("wyłączone")}.get(value, value)


def role_label(value: str) -> str:
    return {"city_official": _("urzędnik miasta"), "school_director": _("dyrektor szkoły"),
            "school_secretary": _("sekretariat szkoły"), "printer_operator": _("operator drukarni"),
            "data_protection_officer": _("inspektor ochrony danych"),
            "platform_admin": _("administrator platformy")}.get(value, value)


def school_type_label(value: str | None) -> str:
    return labels.SCHOOL_TYPES.label(value)


def init_app(app) -> None:
    from flask_babel import get_locale

    app.jinja_env.globals["get_locale"] = get_locale
    for name, fn in {"plural": plural, "counted": counted, "number": number, "percent": percent,
                     "date_pl": date_pl, "datetime_pl": datetime_pl, "money": money, "amount": amount,
                     "order_status": order_status,
                     "application_status": application_status, "application_kind": application_kind,
                     "card_status": card_status, "role_label": role_label,
                     "school_type_label": school_type_label, "pupil_status": pupil_status,
                     "photo_status": photo_status, "learner_type": learner_type, "photo_source": photo_source,
                     "severity": severity, "submission_status": submission_status, "qr_svg": qr_svg,
                     "import_status": import_status, "import_action": import_action, "zip_outcome": zip_outcome,
                     "item_outcome": item_outcome, "channel_label": channel_label,
                     "transfer_status": transfer_status, "sex_label": sex_label,
                     }.items():
        app.jinja_env.filters[name] = fn
