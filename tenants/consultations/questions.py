"""The fixed questions every consultation asks, and the choices of each (docs/city.md,
*Konsultacje z dyrektorami*): the wording the director's form, the city's pages, the exports and the
council's report share."""

from __future__ import annotations

SATISFACTION = "Jak ocenia Pan/Pani obecny sposób zamawiania i druku legitymacji w szkole?"
SATISFACTION_SCALE = {1: "1 — bardzo źle", 2: "2 — źle", 3: "3 — przeciętnie", 4: "4 — dobrze", 5: "5 — bardzo dobrze"}
PROBLEMS_QUESTION = "Jakie problemy napotkała szkoła? (można wybrać kilka)"
PROBLEMS = {
    "photos": "Zdjęcia uczniów (zbieranie, jakość)",
    "delays": "Długi czas oczekiwania na legitymacje",
    "costs": "Koszty (blankiety, druk, wysyłka)",
    "errors": "Błędy w wydrukowanych legitymacjach",
    "holograms": "Hologramy i ewidencja druków ścisłego zarachowania",
    "staff": "Brak czasu lub ludzi w sekretariacie",
    "equipment": "Obsługa drukarki lub programu",
    "other": "Inne (proszę opisać)",
}
PROBLEMS_TEXT = "Opis problemów"
HOURS_QUESTION = "Ile godzin w miesiącu pracownicy szkoły poświęcają na legitymacje?"
PREFERENCE_QUESTION = "Który sposób wydawania legitymacji woli szkoła na przyszłość?"
PREFERENCES = {
    "keep_own": "Zostać przy obecnym, własnym kanale szkoły",
    "city_order": "Wspólne zamówienie miasta u drukarni zewnętrznej",
    "print_centre": "Miejskie centrum druku",
    "no_opinion": "Nie mam zdania",
}
COMMENTS = "Uwagi"
