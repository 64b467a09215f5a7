"""What the data protection officer (IOD) answers (docs/dpo.md): who saw a child's data in a period
(`answers.who_saw`), whose data a printer received (`answers.sent_to_printer`), the register of
data-processing agreements, the retention schedule with deletion receipts and confirmations, and
the access-log chain check (`registers`). Every function reads one served school at a time
through `tenants.tenancy.officer.reading_school`; none changes a record."""
