"""Polish names of the values the city's tables show (channels, kinds, states, school types)."""

CHANNELS = {"external": "drukarnia zewnętrzna", "city_centre": "miejskie centrum druku", "own": "drukarka szkoły"}
KINDS = {"first": "pierwsza", "replacement": "wymiana", "duplicate": "duplikat"}
CARD_STATES = {"ordered": "zamówiona", "printed": "wydrukowana", "delivered": "w szkole, do wydania",
               "handed_over": "wydana", "spoiled": "zepsuta", "invalidated": "unieważniona"}
ORDER_STATES = {"submitted": "złożone", "rendering": "przygotowanie paczki", "ready": "paczka gotowa",
                "failed": "błąd paczki", "accepted": "przyjęte przez drukarnię",
                "rejected": "odrzucone przez drukarnię", "downloaded": "pobrane przez drukarnię",
                "printed": "wydrukowane", "shipped": "wysłane", "delivered": "dostarczone do szkoły"}
SCHOOL_TYPES = {"primary": "szkoła podstawowa", "liceum": "liceum ogólnokształcące", "technikum": "technikum",
                "branzowa": "szkoła branżowa", "special": "szkoła specjalna", "adult": "szkoła dla dorosłych",
                "preschool": "przedszkole"}
OWN_PRINTERS = "drukarki szkół (własne)"
