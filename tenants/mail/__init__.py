"""The mail outbox: every e-mail the product promises, sent at least once and once in practice."""
