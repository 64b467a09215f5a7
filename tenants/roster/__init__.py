"""Pupil lists (CSV, XLSX) in: reading within bounds, recognising columns, validating rows, the dry
run and the import; and the import jobs with their lease and reconciler, which photo ZIPs share."""
