"""The static facts of the travel world: countries, currencies, cities, airports, airlines, sights.

Everything the service answers is derived from these tables by pure functions
(``agent_travel.catalog``), so the same request always gets the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Units of each currency per one euro (mid-market, fixed for the example).
RATES_PER_EUR: dict[str, float] = {
    "EUR": 1.0,
    "USD": 1.08,
    "GBP": 0.85,
    "CHF": 0.95,
    "NOK": 11.6,
    "SEK": 11.3,
    "DKK": 7.46,
    "CZK": 25.2,
    "PLN": 4.3,
    "JPY": 162.0,
}

CURRENCY_NAMES: dict[str, str] = {
    "EUR": "euro",
    "USD": "US dollar",
    "GBP": "British pound",
    "CHF": "Swiss franc",
    "NOK": "Norwegian krone",
    "SEK": "Swedish krona",
    "DKK": "Danish krone",
    "CZK": "Czech koruna",
    "PLN": "Polish złoty",
    "JPY": "Japanese yen",
}


@dataclass(frozen=True)
class Country:
    name: str
    currency: str
    capital: str
    languages: tuple[str, ...]
    calling_code: str
    aliases: tuple[str, ...] = ()


COUNTRIES: tuple[Country, ...] = (
    Country("France", "EUR", "Paris", ("French",), "+33"),
    Country("Italy", "EUR", "Rome", ("Italian",), "+39", ("Italia",)),
    Country("Germany", "EUR", "Berlin", ("German",), "+49", ("Deutschland",)),
    Country("Spain", "EUR", "Madrid", ("Spanish", "Catalan"), "+34", ("España",)),
    Country("Portugal", "EUR", "Lisbon", ("Portuguese",), "+351"),
    Country("United Kingdom", "GBP", "London", ("English",), "+44",
            ("UK", "Great Britain", "Britain", "England")),
    Country("Norway", "NOK", "Oslo", ("Norwegian",), "+47", ("Norge",)),
    Country("Sweden", "SEK", "Stockholm", ("Swedish",), "+46", ("Sverige",)),
    Country("Denmark", "DKK", "Copenhagen", ("Danish",), "+45", ("Danmark",)),
    Country("Switzerland", "CHF", "Bern", ("German", "French", "Italian", "Romansh"), "+41",
            ("Schweiz", "Suisse")),
    Country("Czech Republic", "CZK", "Prague", ("Czech",), "+420", ("Czechia",)),
    Country("Poland", "PLN", "Warsaw", ("Polish",), "+48", ("Polska",)),
    Country("United States", "USD", "Washington", ("English",), "+1",
            ("USA", "US", "United States of America", "America")),
    Country("Japan", "JPY", "Tokyo", ("Japanese",), "+81", ("Nippon",)),
)


@dataclass(frozen=True)
class Airport:
    code: str
    name: str


@dataclass(frozen=True)
class City:
    name: str
    code: str  # three letters, used in hotel ids
    country: str
    lat: float
    lon: float
    timezone: str
    population: int
    airports: tuple[Airport, ...]
    highs: tuple[int, ...]  # mean daily high (°C) per month, January first
    wetness: float  # chance of a wet day
    hotel_eur: int  # a three-star night in euros
    aliases: tuple[str, ...] = ()
    long_haul: bool = False  # has intercontinental flights
    hub: bool = False  # every European city has a direct flight to it
    sights: tuple[tuple[str, str], ...] = field(default=())


def _a(*pairs: str) -> tuple[Airport, ...]:
    return tuple(Airport(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2))


CITIES: tuple[City, ...] = (
    City("Paris", "PAR", "France", 48.8566, 2.3522, "Europe/Paris", 2_100_000,
         _a("CDG", "Paris Charles de Gaulle Airport", "ORY", "Paris Orly Airport"),
         (7, 8, 12, 16, 20, 23, 25, 25, 21, 16, 11, 8), 0.35, 150, long_haul=True, hub=True,
         sights=(("Louvre Museum", "museum"), ("Musée d'Orsay", "museum"),
                 ("Eiffel Tower", "landmark"), ("Luxembourg Gardens", "park"),
                 ("Marché des Enfants Rouges", "market"))),
    City("Lyon", "LYO", "France", 45.764, 4.8357, "Europe/Paris", 520_000,
         _a("LYS", "Lyon–Saint-Exupéry Airport"),
         (7, 9, 14, 17, 21, 25, 28, 28, 23, 18, 11, 8), 0.3, 100,
         sights=(("Musée des Confluences", "museum"), ("Basilica of Notre-Dame de Fourvière",
                  "landmark"), ("Parc de la Tête d'Or", "park"),
                 ("Les Halles de Lyon Paul Bocuse", "market"))),
    City("Rome", "ROM", "Italy", 41.9028, 12.4964, "Europe/Rome", 2_750_000,
         _a("FCO", "Rome Fiumicino Airport", "CIA", "Rome Ciampino Airport"),
         (12, 13, 16, 19, 23, 28, 31, 31, 27, 22, 16, 13), 0.25, 130, long_haul=True, hub=True,
         sights=(("Colosseum", "landmark"), ("Vatican Museums", "museum"),
                 ("Borghese Gallery", "museum"), ("Villa Borghese Gardens", "park"),
                 ("Campo de' Fiori Market", "market"))),
    City("Milan", "MIL", "Italy", 45.4642, 9.19, "Europe/Rome", 1_370_000,
         _a("MXP", "Milan Malpensa Airport", "LIN", "Milan Linate Airport"),
         (6, 9, 14, 18, 22, 27, 29, 28, 24, 18, 11, 7), 0.3, 140, long_haul=True,
         sights=(("Milan Cathedral", "landmark"), ("Pinacoteca di Brera", "museum"),
                 ("Sempione Park", "park"), ("Mercato Centrale Milano", "market"))),
    City("Berlin", "BER", "Germany", 52.52, 13.405, "Europe/Berlin", 3_850_000,
         _a("BER", "Berlin Brandenburg Airport"),
         (3, 5, 9, 15, 19, 22, 25, 24, 19, 14, 8, 4), 0.35, 110, hub=True,
         sights=(("Brandenburg Gate", "landmark"), ("Pergamon Museum", "museum"),
                 ("Tiergarten", "park"), ("Markthalle Neun", "market"))),
    City("Munich", "MUC", "Germany", 48.1351, 11.582, "Europe/Berlin", 1_510_000,
         _a("MUC", "Munich Airport"),
         (3, 5, 10, 14, 19, 22, 24, 24, 19, 14, 8, 4), 0.35, 130, long_haul=True, hub=True,
         sights=(("Marienplatz", "landmark"), ("Deutsches Museum", "museum"),
                 ("English Garden", "park"), ("Viktualienmarkt", "market"))),
    City("Madrid", "MAD", "Spain", 40.4168, -3.7038, "Europe/Madrid", 3_330_000,
         _a("MAD", "Adolfo Suárez Madrid–Barajas Airport"),
         (10, 12, 16, 18, 22, 28, 32, 31, 26, 19, 13, 10), 0.2, 110, long_haul=True, hub=True,
         sights=(("Prado Museum", "museum"), ("Reina Sofía Museum", "museum"),
                 ("Royal Palace of Madrid", "landmark"), ("Retiro Park", "park"),
                 ("Mercado de San Miguel", "market"))),
    City("Barcelona", "BCN", "Spain", 41.3874, 2.1686, "Europe/Madrid", 1_640_000,
         _a("BCN", "Barcelona–El Prat Airport"),
         (14, 15, 17, 19, 22, 26, 29, 29, 26, 22, 17, 14), 0.22, 130, hub=True,
         aliases=("Barna",),
         sights=(("Sagrada Família", "landmark"), ("Picasso Museum", "museum"),
                 ("Park Güell", "park"), ("La Boqueria", "market"))),
    City("Lisbon", "LIS", "Portugal", 38.7223, -9.1393, "Europe/Lisbon", 545_000,
         _a("LIS", "Humberto Delgado Airport"),
         (15, 16, 19, 20, 22, 26, 28, 28, 27, 23, 18, 15), 0.25, 100, long_haul=True,
         aliases=("Lisboa",),
         sights=(("Belém Tower", "landmark"), ("Calouste Gulbenkian Museum", "museum"),
                 ("Eduardo VII Park", "park"), ("Time Out Market", "market"))),
    City("London", "LON", "United Kingdom", 51.5072, -0.1276, "Europe/London", 8_900_000,
         _a("LHR", "London Heathrow Airport", "LGW", "London Gatwick Airport",
            "STN", "London Stansted Airport"),
         (8, 9, 12, 15, 18, 21, 23, 23, 20, 16, 11, 8), 0.4, 170, long_haul=True, hub=True,
         sights=(("British Museum", "museum"), ("Tate Modern", "museum"),
                 ("Tower of London", "landmark"), ("Hyde Park", "park"),
                 ("Borough Market", "market"))),
    City("Oslo", "OSL", "Norway", 59.9139, 10.7522, "Europe/Oslo", 710_000,
         _a("OSL", "Oslo Gardermoen Airport"),
         (-2, -1, 4, 10, 16, 20, 22, 21, 16, 9, 4, 0), 0.35, 150,
         sights=(("Oslo Opera House", "landmark"), ("Munch Museum", "museum"),
                 ("Vigeland Park", "park"), ("Mathallen Oslo", "market"))),
    City("Stockholm", "STO", "Sweden", 59.3293, 18.0686, "Europe/Stockholm", 980_000,
         _a("ARN", "Stockholm Arlanda Airport"),
         (-1, -1, 3, 9, 15, 20, 22, 21, 16, 10, 5, 1), 0.33, 140,
         sights=(("Vasa Museum", "museum"), ("Gamla Stan", "landmark"),
                 ("Djurgården", "park"), ("Östermalm Market Hall", "market"))),
    City("Copenhagen", "CPH", "Denmark", 55.6761, 12.5683, "Europe/Copenhagen", 660_000,
         _a("CPH", "Copenhagen Airport"),
         (3, 3, 6, 11, 16, 19, 22, 21, 18, 13, 8, 5), 0.38, 150, long_haul=True, hub=True,
         aliases=("København",),
         sights=(("Tivoli Gardens", "park"), ("National Museum of Denmark", "museum"),
                 ("Nyhavn", "landmark"), ("Torvehallerne", "market"))),
    City("Zurich", "ZRH", "Switzerland", 47.3769, 8.5417, "Europe/Zurich", 420_000,
         _a("ZRH", "Zurich Airport"),
         (3, 5, 10, 14, 19, 22, 24, 24, 19, 14, 8, 4), 0.38, 190, long_haul=True, hub=True,
         aliases=("Zürich",),
         sights=(("Swiss National Museum", "museum"), ("Grossmünster", "landmark"),
                 ("Zurich Botanical Garden", "park"), ("Bürkliplatz Market", "market"))),
    City("Bern", "BRN", "Switzerland", 46.948, 7.4474, "Europe/Zurich", 134_000, (),
         (3, 5, 10, 14, 18, 22, 24, 23, 19, 14, 8, 4), 0.38, 150,
         sights=(("Zytglogge", "landmark"), ("Bern Historical Museum", "museum"),
                 ("Rose Garden", "park"))),
    City("Prague", "PRG", "Czech Republic", 50.0755, 14.4378, "Europe/Prague", 1_300_000,
         _a("PRG", "Václav Havel Airport Prague"),
         (1, 3, 8, 14, 19, 22, 24, 24, 19, 13, 6, 2), 0.3, 80, aliases=("Praha",),
         sights=(("Prague Castle", "landmark"), ("Charles Bridge", "landmark"),
                 ("National Gallery Prague", "museum"), ("Letná Park", "park"),
                 ("Havelská Market", "market"))),
    City("Warsaw", "WAW", "Poland", 52.2297, 21.0122, "Europe/Warsaw", 1_860_000,
         _a("WAW", "Warsaw Chopin Airport"),
         (0, 2, 7, 14, 19, 22, 24, 24, 18, 12, 6, 2), 0.32, 75, long_haul=True,
         aliases=("Warszawa",),
         sights=(("Warsaw Uprising Museum", "museum"), ("Royal Castle", "landmark"),
                 ("Łazienki Park", "park"), ("Hala Mirowska", "market"))),
    City("New York", "NYC", "United States", 40.7128, -74.006, "America/New_York",
         8_300_000,
         _a("JFK", "John F. Kennedy International Airport",
            "EWR", "Newark Liberty International Airport", "LGA", "LaGuardia Airport"),
         (4, 6, 10, 17, 22, 27, 29, 28, 25, 18, 12, 6), 0.3, 220, long_haul=True,
         aliases=("New York City", "NYC", "Manhattan"),
         sights=(("Metropolitan Museum of Art", "museum"), ("Museum of Modern Art", "museum"),
                 ("Statue of Liberty", "landmark"), ("Central Park", "park"),
                 ("Chelsea Market", "market"))),
    City("Washington", "WAS", "United States", 38.9072, -77.0369, "America/New_York",
         690_000,
         _a("IAD", "Washington Dulles International Airport",
            "DCA", "Ronald Reagan Washington National Airport"),
         (7, 9, 14, 20, 25, 30, 32, 31, 27, 21, 15, 9), 0.3, 190, long_haul=True,
         aliases=("Washington DC", "Washington D.C.", "DC"),
         sights=(("Smithsonian National Air and Space Museum", "museum"),
                 ("Lincoln Memorial", "landmark"), ("National Mall", "park"),
                 ("Eastern Market", "market"))),
    City("Tokyo", "TYO", "Japan", 35.6762, 139.6503, "Asia/Tokyo", 14_000_000,
         _a("HND", "Tokyo Haneda Airport", "NRT", "Narita International Airport"),
         (10, 10, 14, 19, 23, 26, 30, 31, 27, 22, 17, 12), 0.3, 140, long_haul=True,
         sights=(("Tokyo National Museum", "museum"), ("Senso-ji Temple", "landmark"),
                 ("Shinjuku Gyoen", "park"), ("Tsukiji Outer Market", "market"))),
)

# Flag carriers by country; low-cost carriers fly short-haul routes inside Europe.
FLAG_CARRIERS: dict[str, tuple[str, str]] = {
    "France": ("AF", "Air France"),
    "Italy": ("AZ", "ITA Airways"),
    "Germany": ("LH", "Lufthansa"),
    "Spain": ("IB", "Iberia"),
    "Portugal": ("TP", "TAP Air Portugal"),
    "United Kingdom": ("BA", "British Airways"),
    "Norway": ("SK", "SAS"),
    "Sweden": ("SK", "SAS"),
    "Denmark": ("SK", "SAS"),
    "Switzerland": ("LX", "Swiss"),
    "Czech Republic": ("OK", "Czech Airlines"),
    "Poland": ("LO", "LOT Polish Airlines"),
    "United States": ("UA", "United Airlines"),
    "Japan": ("JL", "Japan Airlines"),
}
LOW_COST: tuple[tuple[str, str], ...] = (
    ("U2", "easyJet"), ("FR", "Ryanair"), ("VY", "Vueling"), ("W6", "Wizz Air"),
    ("DY", "Norwegian"),
)
LOW_COST_CODES = frozenset(code for code, _ in LOW_COST)

# Routes from secondary airports (both directions), flown by the airline given.
SECONDARY_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("ORY", "LIS", "TP"), ("ORY", "BCN", "VY"), ("ORY", "FCO", "U2"), ("ORY", "MAD", "IB"),
    ("ORY", "LYS", "AF"), ("CIA", "STN", "FR"), ("CIA", "BER", "FR"), ("CIA", "BCN", "FR"),
    ("LGW", "LIS", "U2"), ("LGW", "BCN", "BA"), ("LGW", "FCO", "U2"), ("LGW", "CPH", "DY"),
    ("LGW", "OSL", "DY"), ("STN", "WAW", "W6"), ("STN", "PRG", "FR"), ("LIN", "FCO", "AZ"),
    ("LIN", "ORY", "AZ"), ("LIN", "LHR", "BA"), ("EWR", "LHR", "UA"), ("EWR", "LIS", "TP"),
    ("LGA", "DCA", "UA"), ("NRT", "CDG", "AF"), ("NRT", "LHR", "JL"), ("NRT", "JFK", "JL"),
)

# (name template, stars, district); a district of None is picked per hotel.
HOTEL_NAMES: tuple[tuple[str, int, str | None], ...] = (
    ("Grand Hotel {city}", 5, "city centre"),
    ("{city} Palace & Spa", 5, None),
    ("Hotel Central {city}", 4, "city centre"),
    ("The Park {city}", 4, None),
    ("Old Town Boutique Hotel", 4, "old town"),
    ("Riverside Lodge {city}", 3, "riverside"),
    ("Airport Comfort Inn {city}", 3, "near the airport"),
    ("Hotel Bellevue", 3, None),
    ("Station Inn {city}", 2, "near the station"),
    ("Budget Stay {city}", 2, None),
)
HOTEL_DISTRICTS = ("old town", "city centre", "business district", "university quarter")
PLACE_CATEGORIES = ("museum", "landmark", "park", "market")
