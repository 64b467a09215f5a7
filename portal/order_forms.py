"""Form parsing shared by the school's and the printer's order pages."""

from __future__ import annotations

from printing.fulfilment import ItemResult
from printing.models import ItemOutcome
from printing.models import OrderItem


def item_results(form, items: list[OrderItem]) -> list[ItemResult]:
    """The results the per-card table submits: rows set to printed or rejected (rows left
    pending are not reported). Fields are named `<field>-<item id>`."""
    chosen = (ItemOutcome.PRINTED.value, ItemOutcome.REJECTED.value)
    return [ItemResult(card_number=item.card_label, outcome=form.get(f"outcome-{item.id}", ""),
                       blank_serial=form.get(f"serial-{item.id}", ""), chip_uid=form.get(f"uid-{item.id}", ""),
                       reason=form.get(f"reason-{item.id}", ""))
            for item in items if form.get(f"outcome-{item.id}", "") in chosen]
