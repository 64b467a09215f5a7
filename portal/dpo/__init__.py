"""The data protection officer's pages (inspektor ochrony danych, `/iod/`; docs/dpo.md)."""
