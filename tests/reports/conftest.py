"""The seeded city of the dashboard's tests, a fixture for every module here (it lives in
tests/reports/dashboard_helpers.py, where tests elsewhere import it from)."""

from tests.reports.dashboard_helpers import seeded  # noqa: F401 (the fixture)
