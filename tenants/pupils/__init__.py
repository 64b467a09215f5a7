"""A school's pupils and their card applications: records, PESEL, names, free-text entry."""
