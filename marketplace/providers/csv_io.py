"""Listings to and from CSV: the import template, checking and importing rows, exporting results.

Every uploaded row obeys exactly the rules of a listing typed into the web form, not a copy of
them: the row's cells are turned into form data and checked by ``ListingForm``'s own validators,
parsed by ``listing_form_data`` as the form is, and then ``create_listing`` itself runs inside a
SAVEPOINT that is rolled back. Only what CSV adds is checked here: the file, its columns, and
turning words such as "in person" or "Leeds" into the codes and ids the form uses.

Imported listings are drafts; the provider checks and submits each one, so moderation stays in
charge. Nothing here uses Flask's request objects, and nothing commits: the view does that.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice

from marketplace import audit
from marketplace.auth.models import Role, User
from marketplace.db import utcnow
from marketplace.errors import DomainError, NotAllowed
from marketplace.money import format_pence
from marketplace.organisations import services as organisations
from marketplace.organisations.models import Organisation, OrganisationKind
from marketplace.places.models import Council
from marketplace.places.services import all_councils
from marketplace.providers import services
from marketplace.providers.forms import PRICE_ROWS, ListingForm
from marketplace.providers.listing_form_data import data_from_form
from marketplace.providers.models import (
    ACCESS_LABELS,
    COMMUNITY_LABELS,
    DELIVERY_LABELS,
    LANGUAGES,
    PRICE_UNIT_LABELS,
    WEEKDAYS,
    Access,
    Listing,
    ListingPrice,
    PriceUnit,
    Specialism,
)
from marketplace.providers.search import Hit, SearchIndex, SearchQuery

MAX_BYTES = 1_000_000
MAX_SIZE_TEXT = "1 MB"
MAX_ROWS = 500
MAX_EXPORT_ROWS = 1000
EXPORT_PAGE_SIZE = 100  # the most the search index returns in one page
IMPORT_TTL = timedelta(hours=1)
SEPARATOR = ";"
WHOLE_ROW = ""  # the column of a problem that belongs to no one column
SHOWN_VALUE_CHARS = 40


# ---------------------------------------------------------------------------------------------
# Columns


@dataclass(frozen=True)
class Column:
    """One column of the import file: its header, the ListingForm field it feeds, and help."""

    name: str
    field: str
    guide: str
    required: bool = False


def _price_columns(row: int) -> tuple[Column, ...]:
    optional = "" if row == 1 else " Optional."
    return (
        Column(
            f"price_{row}_amount",
            f"price{row}_amount",
            f"Price {row} in pounds, like 12.50. Leave it blank if this option is free.{optional}",
        ),
        Column(
            f"price_{row}_unit",
            f"price{row}_unit",
            f"What price {row} is for: per hour, per session, per week, per month, one-off or "
            f"free.{optional}",
        ),
        Column(
            f"price_{row}_label",
            f"price{row}_label",
            f"What price {row} covers, like 'group session' (up to 120 characters). Optional.",
        ),
    )


COLUMNS: tuple[Column, ...] = (
    Column("name", "name", "The name of the service (up to 120 characters).", required=True),
    Column(
        "summary",
        "summary",
        "One or two sentences shown in search results (up to 160 characters).",
        required=True,
    ),
    Column("description", "description", "The full description (up to 5000 characters)."),
    Column(
        "categories",
        "category_ids",
        "One or more categories, separated by semicolons: the names or codes listed below.",
        required=True,
    ),
    Column("tags", "tags", "Other words people might search for, separated by semicolons."),
    Column(
        "delivery_modes",
        "delivery_modes",
        "How the service is delivered, separated by semicolons: in person; at home; online; phone.",
        required=True,
    ),
    *(column for row in range(1, PRICE_ROWS + 1) for column in _price_columns(row)),
    Column(
        "councils",
        "council_ids",
        "Council areas you serve, separated by semicolons: names as this site shows them, or "
        "ONS codes like E08000035. Give councils, a postcode, or both.",
    ),
    Column("postcode", "postcode", "Where the service happens, for services people come to."),
    Column(
        "radius_miles",
        "radius_miles",
        "How far from the postcode you serve, as a whole number of miles from 1 to 200.",
    ),
    Column(
        "languages",
        "languages",
        "Languages it is offered in, separated by semicolons. English if left blank.",
    ),
    Column(
        "communities",
        "communities",
        "Communities it is for, separated by semicolons, like: women only; older people.",
    ),
    Column(
        "specialism",
        "specialism",
        "'mental health' if it specialises in mental health, or 'mainstream'. "
        "Mainstream if left blank.",
    ),
    Column(
        "takes_direct_payments",
        "takes_direct_payments",
        "yes or no: do you accept direct payments? Yes if left blank.",
    ),
    Column(
        "takes_managed_accounts",
        "takes_managed_accounts",
        "yes or no: do you accept payment from managed accounts? No if left blank.",
    ),
    Column("accessibility", "accessibility", "Step-free access, quiet spaces, hearing loops..."),
    Column(
        "address_line_1",
        "address_line_1",
        "The first line of the address people come to. With it, give the town and postcode.",
    ),
    Column("address_line_2", "address_line_2", "The second line of the address. Optional."),
    Column("town", "town", "The town or city of the address."),
    Column(
        "opening_times",
        "opening_times",
        "The days it is open with 24-hour times, separated by semicolons, like: "
        "Monday 09:00-17:00; Wednesday 18:00-20:00 (drop-in). One entry for each day.",
    ),
    Column(
        "times",
        "times",
        "Anything else about when it is available, like 'closed on bank holidays' "
        "(up to 1000 characters).",
    ),
    Column("minimum_age", "minimum_age", "The youngest age it is for, like 18. Optional."),
    Column("maximum_age", "maximum_age", "The oldest age it is for, like 65. Optional."),
    Column(
        "eligibility",
        "eligibility",
        "Anything else about who can use it (up to 1000 characters). Optional.",
    ),
    Column(
        "access",
        "access",
        "How people get in: self-referral, referral or both. Optional.",
    ),
    Column(
        "waiting_time",
        "waiting_time",
        "How long people usually wait to start, like 'about 2 weeks'. Optional.",
    ),
    Column(
        "cqc_number",
        "cqc_number",
        "Care Quality Commission registration number, like 1-123456789. Optional.",
    ),
    Column("charity_number", "charity_number", "Registered charity number. Optional."),
    Column("company_number", "company_number", "Companies House number. Optional."),
    Column(
        "dbs_checked",
        "dbs_checked",
        "yes or no: do staff who visit people's homes have a DBS check? Only for services "
        "delivered at home. Optional.",
    ),
    Column("contact_email", "contact_email", "An email address people can contact."),
    Column("contact_phone", "contact_phone", "A phone number (up to 40 characters)."),
    Column("website", "website", "A web address starting https://"),
)
COLUMN_NAMES: tuple[str, ...] = tuple(column.name for column in COLUMNS)
REQUIRED_HEADERS = ("name", "summary")
_COLUMN_OF_FIELD = (
    {column.field: column.name for column in COLUMNS}
    | {"prices": "price_1_amount"}  # create_listing's own price errors
    | {
        f"day{day}_{part}": "opening_times"  # the form's boxes for each day
        for day in range(len(WEEKDAYS))
        for part in ("opens", "closes", "note")
    }
)
_COLUMN_ORDER = {name: position for position, name in enumerate(COLUMN_NAMES)} | {WHOLE_ROW: -1}

# The form's words are about checkboxes and menus; a spreadsheet has cells.
_CSV_WORDING = {
    "Select at least one category": "Enter at least one category",
    "Choose categories from the list": "Enter categories from the list of categories",
    "Select at least one way the service is delivered": (
        "Enter at least one way the service is delivered: in person, at home, online or phone"
    ),
    "Choose what the price is for": (
        "Say what the price is for: per hour, per session, per week, per month, one-off or free"
    ),
    "Give at least one price, or choose free": (
        "Give at least one price, or enter free in price_1_unit"
    ),
    "Give at least one price, or say it is free": (
        "Give at least one price, or enter free in price_1_unit"
    ),
    "Enter the price in pounds, or choose free": (
        "Enter the price in pounds, or enter free in the unit column"
    ),
    "Say where the service is offered: choose council areas or give a postcode": (
        "Say where the service is offered: enter councils, a postcode, or both"
    ),
    "Choose council areas from the list": "Enter council areas this site knows",
    "Say whether it is a mental health service": "Enter mental health or mainstream",
}


# ---------------------------------------------------------------------------------------------
# Results


class ImportFileError(DomainError):
    """The file as a whole cannot be used (not CSV, wrong columns, too many rows...)."""

    def __init__(self, *messages: str) -> None:
        super().__init__(" ".join(messages), field="file")
        self.messages = messages


@dataclass(frozen=True, order=True)
class RowError:
    """One problem: the row as a spreadsheet numbers it (the header is row 1) and the column."""

    row: int
    column: str
    message: str


@dataclass(frozen=True)
class CheckedFile:
    """What checking every row found."""

    row_count: int
    valid_rows: tuple[int, ...]
    errors: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        """True when every row can be imported."""
        return not self.errors

    @property
    def valid_count(self) -> int:
        """How many rows can be imported."""
        return len(self.valid_rows)

    @property
    def rows_with_errors(self) -> int:
        """How many rows have at least one problem."""
        return len({error.row for error in self.errors})


class ImportHasErrors(DomainError):
    """Some rows have problems and the person did not ask to import only the valid ones."""

    def __init__(self, checked: CheckedFile) -> None:
        super().__init__(f"{checked.rows_with_errors} rows have problems", field="file")
        self.checked = checked


# ---------------------------------------------------------------------------------------------
# Reading the file

NOT_CSV = (
    "The selected file is not a CSV file. In your spreadsheet, choose Save as, then "
    "'CSV UTF-8 (comma delimited)', and upload that file"
)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode(raw: bytes) -> str:
    """The uploaded bytes as text: UTF-8 (with or without a BOM), else Windows-1252 (Excel)."""
    if not raw.strip():
        raise ImportFileError("The selected file is empty")
    if len(raw) > MAX_BYTES:
        raise ImportFileError(f"The selected file must be smaller than {MAX_SIZE_TEXT}")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw:
        raise ImportFileError(NOT_CSV)  # UTF-16 ("Unicode text") or a binary file
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as error:
            raise ImportFileError(NOT_CSV) from error
    if _CONTROL_CHARACTERS.search(text):
        raise ImportFileError(NOT_CSV)
    return text


def _header_key(text: str) -> str:
    """'Price 1 amount' and 'price_1_amount' -> 'price_1_amount'."""
    return "_".join(re.findall(r"[a-z0-9]+", text.lower()))


def _delimiter(text: str) -> str:
    """Commas, or the semicolons or tabs some spreadsheets write instead (from the header)."""
    first_line = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=first_line.count)


@dataclass(frozen=True)
class _Row:
    number: int
    cells: dict[str, str]
    extra_cells: bool


def _read_rows(text: str) -> list[_Row]:
    """The data rows with their cells by column name; ImportFileError for the file's problems."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows: list[_Row] = []
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ImportFileError("The selected file is empty")
        names = [_header_key(cell) for cell in header]
        _check_header(names)
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue  # a blank line, or a row Excel left as a line of commas
            if len(rows) == MAX_ROWS:
                raise ImportFileError(
                    f"The file has more than {MAX_ROWS} listings. Split it into files of up "
                    f"to {MAX_ROWS} rows and upload each one"
                )
            cells = {name: cell for name, cell in zip(names, record, strict=False) if name}
            extra = any(cell.strip() for cell in record[len(names) :]) or any(
                cell.strip() for name, cell in zip(names, record, strict=False) if not name
            )
            rows.append(_Row(number, cells, extra))
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise ImportFileError(
                f"Row {reader.line_num} has a cell that is far too long to be a listing"
            ) from error
        raise ImportFileError(
            f"We could not read row {reader.line_num} of the file. {NOT_CSV}"
        ) from error
    if not rows:
        raise ImportFileError(
            "The file has no listings in it. Add one row for each service below the column names"
        )
    return rows


def _check_header(names: list[str]) -> None:
    messages = []
    if missing := [name for name in REQUIRED_HEADERS if name not in names]:
        messages.append(
            f"The file is missing the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}. The first row must hold the column names from the template"
        )
    known = set(COLUMN_NAMES)
    if unknown := [name for name in names if name and name not in known]:
        messages.append(
            f"The file has columns we do not recognise: {_shown(', '.join(unknown))}. "
            "Use the column names from the template"
        )
    named = [name for name in names if name]
    if repeated := sorted({name for name in named if named.count(name) > 1}):
        messages.append(f"These columns appear more than once: {', '.join(repeated)}")
    if messages:
        raise ImportFileError(*messages)


# ---------------------------------------------------------------------------------------------
# Words to codes


def _key(text: str) -> str:
    """'In-person', 'in_person' and 'IN PERSON' -> 'in person'."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _vocabulary(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Keys of every (word, code) pair -> code."""
    return {_key(word): code for word, code in pairs}


_DELIVERY = _vocabulary(
    [(mode.value, mode.value) for mode in DELIVERY_LABELS]
    + [(label, mode.value) for mode, label in DELIVERY_LABELS.items()]
)
_UNITS = _vocabulary(
    [(unit.value, unit.value) for unit in PRICE_UNIT_LABELS]
    + [(label, unit.value) for unit, label in PRICE_UNIT_LABELS.items()]
)
_COMMUNITIES = _vocabulary(
    [(community.value, community.value) for community in COMMUNITY_LABELS]
    + [(label, community.value) for community, label in COMMUNITY_LABELS.items()]
)
_LANGUAGES = _vocabulary([(language, language) for language in LANGUAGES]) | {
    "bsl": "British Sign Language"
}
_SPECIALISMS = _vocabulary(
    [
        ("mental health", Specialism.MENTAL_HEALTH.value),
        ("mental health specialist", Specialism.MENTAL_HEALTH.value),
        ("mental_health", Specialism.MENTAL_HEALTH.value),
        ("mainstream", Specialism.MAINSTREAM.value),
    ]
)
_ACCESS = _vocabulary(
    [(access.value, access.value) for access in ACCESS_LABELS]
    + [(label, access.value) for access, label in ACCESS_LABELS.items()]
    + [
        ("self-referral", Access.SELF_REFERRAL.value),
        ("self", Access.SELF_REFERRAL.value),
        ("self-referral or referral", Access.BOTH.value),
    ]
)
# Export words for access, which the import reads back.
ACCESS_WORDS = {
    Access.SELF_REFERRAL.value: "self-referral",
    Access.REFERRAL.value: "referral",
    Access.BOTH.value: "both",
}
_DAYS = {name.lower(): day for day, name in enumerate(WEEKDAYS)} | {
    name[:3].lower(): day for day, name in enumerate(WEEKDAYS)
}
_OPENING = re.compile(
    r"(?P<day>[a-z]+)\s+(?P<opens>\d{1,2}[:.]\d{2})\s*(?:-|–|to)\s*(?P<closes>\d{1,2}[:.]\d{2})"
    r"(?:\s*\((?P<note>[^()]*)\))?",
    re.IGNORECASE,
)
OPENING_TIMES_EXAMPLE = "Monday 09:00-17:00; Wednesday 18:00-20:00 (drop-in)"
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}
_WHOLE_MILES = re.compile(r"(-?\d{1,6})(?:\s*(?:miles?|mi))?", re.IGNORECASE)


def _shown(value: str) -> str:
    """A value short enough to quote in a message."""
    value = " ".join(value.split())
    return value if len(value) <= SHOWN_VALUE_CHARS else value[:SHOWN_VALUE_CHARS] + "…"


def _items(cell: str) -> list[str]:
    """A cell's values, separated by semicolons, without blanks or repeats."""
    return list(dict.fromkeys(part.strip() for part in cell.split(SEPARATOR) if part.strip()))


@dataclass(frozen=True)
class _Lookups:
    """The database's vocabulary, read once per file."""

    categories: dict[str, str]  # key of a slug or name -> category id (as the form posts it)
    councils: dict[str, str]  # ONS code or key of a name -> council id
    category_choices: list[SelectChoice]
    council_choices: list[SelectChoice]

    @classmethod
    def load(cls, session: Session) -> _Lookups:
        categories = services.all_categories(session)
        councils = all_councils(session)
        category_keys: dict[str, str] = {}
        for category in categories:
            category_keys[_key(category.slug)] = str(category.id)
            category_keys[_key(category.name)] = str(category.id)
        council_keys: dict[str, str] = {}
        for council in councils:
            council_keys[_key(council.name)] = str(council.id)
        for council in councils:
            council_keys[council.code.lower()] = str(council.id)
        return cls(
            categories=category_keys,
            councils=council_keys,
            category_choices=[SelectChoice(c.id, c.name) for c in categories],
            council_choices=[SelectChoice(c.id, c.name) for c in councils],
        )


class _RowReader:
    """Turns one row's cells into the form data the listing form posts, noting problems."""

    def __init__(self, row: _Row, lookups: _Lookups) -> None:
        self.row = row
        self.lookups = lookups
        self.formdata: MultiDict[str, str] = MultiDict()
        self.errors: dict[str, str] = {}  # column -> first problem

    def cell(self, column: str) -> str:
        return self.row.cells.get(column, "")

    def error(self, column: str, message: str) -> None:
        self.errors.setdefault(column, message)

    def text(self, column: str) -> None:
        self.formdata[_field(column)] = self.cell(column)

    def choices(
        self, column: str, vocabulary: dict[str, str], what: str, default: Sequence[str] = ()
    ) -> None:
        values = _items(self.cell(column))
        codes, unknown = [], []
        for value in values:
            code = vocabulary.get(value.lower().strip()) or vocabulary.get(_key(value))
            if code is None:
                unknown.append(value)
            elif code not in codes:
                codes.append(code)
        if unknown:
            self.error(column, f"Unknown {what}: '{_shown(unknown[0])}'")
        self.formdata.setlist(_field(column), codes or list(default))

    def one_of(self, column: str, vocabulary: dict[str, str], default: str, message: str) -> str:
        value = self.cell(column).strip()
        if not value:
            return default
        code = vocabulary.get(_key(value))
        if code is None:
            self.error(column, message)
            return ""
        return code

    def yes_no(self, column: str, default: bool) -> None:
        value = _key(self.cell(column))
        if not value:
            answer = default
        elif value in _YES:
            answer = True
        elif value in _NO:
            answer = False
        else:
            self.error(column, "Enter yes or no")
            return
        if answer:
            self.formdata[_field(column)] = "y"

    def radius(self) -> None:
        value = self.cell("radius_miles").strip()
        match = _WHOLE_MILES.fullmatch(value)
        if value and match is None:
            self.error("radius_miles", "Enter the distance as a whole number of miles, like 5")
            return
        self.formdata["radius_miles"] = match.group(1) if match else ""

    def opening_times(self) -> None:
        """'Monday 09:00-17:00 (drop-in); Tue 10:00-12:00' into the form's day boxes."""
        seen: set[int] = set()
        for entry in _items(self.cell("opening_times")):
            match = _OPENING.fullmatch(entry)
            day = _DAYS.get(match.group("day").lower()) if match else None
            if match is None or day is None:
                self.error(
                    "opening_times",
                    f"Write opening times like: {OPENING_TIMES_EXAMPLE}, not '{_shown(entry)}'",
                )
                return
            if day in seen:
                self.error("opening_times", f"Give {WEEKDAYS[day]} once")
                return
            seen.add(day)
            self.formdata[f"day{day}_opens"] = match.group("opens").replace(".", ":")
            self.formdata[f"day{day}_closes"] = match.group("closes").replace(".", ":")
            self.formdata[f"day{day}_note"] = (match.group("note") or "").strip()

    def yes_no_blank(self, column: str) -> None:
        value = _key(self.cell(column))
        if not value:
            return
        if value in _YES:
            self.formdata[_field(column)] = "yes"
        elif value in _NO:
            self.formdata[_field(column)] = "no"
        else:
            self.error(column, "Enter yes or no, or leave it blank")

    def prices(self) -> None:
        for row in range(1, PRICE_ROWS + 1):
            self.formdata[f"price{row}_amount"] = self.cell(f"price_{row}_amount")
            self.formdata[f"price{row}_label"] = self.cell(f"price_{row}_label")
            self.formdata[f"price{row}_unit"] = self.one_of(
                f"price_{row}_unit",
                _UNITS,
                "",
                "Enter per hour, per session, per week, per month, one-off or free",
            )

    def read(self) -> MultiDict[str, str]:
        for column in (
            "name",
            "summary",
            "description",
            "postcode",
            "accessibility",
            "times",
            "contact_email",
            "contact_phone",
            "website",
            "address_line_1",
            "address_line_2",
            "town",
            "minimum_age",
            "maximum_age",
            "eligibility",
            "waiting_time",
            "cqc_number",
            "charity_number",
            "company_number",
        ):
            self.text(column)
        self.formdata["access"] = self.one_of(
            "access", _ACCESS, "", "Enter self-referral, referral or both"
        )
        self.yes_no_blank("dbs_checked")
        self.opening_times()
        self.formdata["tags"] = ", ".join(_items(self.cell("tags")))
        self.choices("categories", self.lookups.categories, "category")
        self.choices("delivery_modes", _DELIVERY, "way of delivering")
        self.choices("councils", self.lookups.councils, "council")
        self.choices("languages", _LANGUAGES, "language", default=("English",))
        self.choices("communities", _COMMUNITIES, "community")
        self.formdata["specialism"] = self.one_of(
            "specialism",
            _SPECIALISMS,
            Specialism.MAINSTREAM.value,
            "Enter mental health or mainstream",
        )
        self.yes_no("takes_direct_payments", default=True)
        self.yes_no("takes_managed_accounts", default=False)
        self.radius()
        self.prices()
        if self.row.extra_cells:
            self.error(WHOLE_ROW, "This row has cells with no column name above them")
        return self.formdata


def _field(column: str) -> str:
    return next(c.field for c in COLUMNS if c.name == column)


def _column(field: str | None) -> str:
    return _COLUMN_OF_FIELD.get(field or "", WHOLE_ROW)


def _wording(message: str) -> str:
    return _CSV_WORDING.get(message, message)


# ---------------------------------------------------------------------------------------------
# Checking and importing


def _may_import(session: Session, user: User, org: Organisation) -> bool:
    """Approved staff of the organisation, or an admin (for any provider organisation)."""
    if org.kind != OrganisationKind.PROVIDER.value:
        return False
    if organisations.is_staff(session, user, org):
        return True
    return user.has_role(Role.ADMIN) and org.is_approved


def _create_draft(
    session: Session, user: User, org: Organisation, data: services.ListingData
) -> Listing:
    """A draft listing, made exactly as the listing form makes one."""
    return services.create_listing(session, user, org, data)


def _service_error(
    session: Session, user: User, org: Organisation, data: services.ListingData
) -> DomainError | None:
    """create_listing's verdict on the data; whatever it wrote is rolled back."""
    savepoint = session.begin_nested()
    try:
        _create_draft(session, user, org, data)
    except DomainError as error:
        return error
    finally:
        savepoint.rollback()
    return None


def _check_row(
    session: Session, user: User, org: Organisation, row: _Row, lookups: _Lookups
) -> tuple[services.ListingData | None, list[RowError]]:
    reader = _RowReader(row, lookups)
    formdata = reader.read()
    form = ListingForm(formdata=formdata, meta={"csrf": False})
    form.category_ids.choices = lookups.category_choices
    form.council_ids.choices = lookups.council_choices
    form_ok = form.validate()
    for field in form:
        for message in field.errors:
            reader.error(_column(field.name), _wording(message))
    data = None
    if form_ok and not reader.errors:
        data = data_from_form(form)
        for field in form:
            for message in field.errors:
                reader.error(_column(field.name), _wording(message))
        if data is not None:
            if (error := _service_error(session, user, org, data)) is not None:
                reader.error(_column(error.field), _wording(error.message))
    errors = sorted(
        (RowError(row.number, column, message) for column, message in reader.errors.items()),
        key=lambda e: _COLUMN_ORDER.get(e.column, len(_COLUMN_ORDER)),
    )
    return (None if errors else data), errors


def _check(
    session: Session, user: User, org: Organisation, text: str
) -> tuple[CheckedFile, list[services.ListingData]]:
    if not _may_import(session, user, org):
        raise NotAllowed("You cannot add listings for this organisation")
    rows = _read_rows(text)
    lookups = _Lookups.load(session)
    valid: list[tuple[int, services.ListingData]] = []
    errors: list[RowError] = []
    for row in rows:
        data, row_errors = _check_row(session, user, org, row, lookups)
        errors.extend(row_errors)
        if data is not None:
            valid.append((row.number, data))
    checked = CheckedFile(
        row_count=len(rows),
        valid_rows=tuple(number for number, _ in valid),
        errors=tuple(errors),
    )
    return checked, [data for _, data in valid]


def check(session: Session, user: User, org: Organisation, text: str) -> CheckedFile:
    """Check every row of the file by the listing form's rules; changes nothing.

    Raises ImportFileError if the file as a whole cannot be used.
    """
    return _check(session, user, org, text)[0]


def import_listings(
    session: Session, user: User, org: Organisation, text: str, only_valid: bool = False
) -> list[Listing]:
    """Check the file again and add its rows as draft listings of the organisation.

    With problems in any row nothing is added (ImportHasErrors) unless only_valid is set, when
    the rows without problems are added and the rest left out. The caller commits.
    """
    checked, valid = _check(session, user, org, text)
    if checked.errors and not only_valid:
        raise ImportHasErrors(checked)
    created = [_create_draft(session, user, org, data) for data in valid]
    if created and not organisations.is_staff(session, user, org):
        audit.record(
            session,
            user.id,
            "listings.imported",
            "organisation",
            org.id,
            f"{len(created)} draft listings imported from a CSV file",
        )
    return created


# ---------------------------------------------------------------------------------------------
# The template


def template_csv(session: Session, org: Organisation) -> str:
    """A header row and one example row that imports cleanly for this organisation."""
    categories = services.all_categories(session)
    example_category = next(
        (c for c in categories if c.slug == "peer-support"), categories[0] if categories else None
    )
    council = (
        org.councils[0]
        if org.councils
        else session.scalars(select(Council).order_by(Council.name)).first()
    )
    example = {
        "name": "Tuesday peer support group",
        "summary": "A friendly weekly group run by people with lived experience.",
        "description": "We meet every Tuesday evening. Tea and biscuits provided.",
        "categories": example_category.name if example_category else "",
        "tags": "hearing voices; evening group",
        "delivery_modes": "in person; online",
        "price_1_amount": "4.50",
        "price_1_unit": "per session",
        "price_1_label": "group session",
        "price_2_unit": "free",
        "price_2_label": "your first visit",
        "councils": council.name if council else "",
        "languages": "English; British Sign Language",
        "specialism": "mental health",
        "takes_direct_payments": "yes",
        "takes_managed_accounts": "no",
        "accessibility": "Step-free access and a quiet room.",
        "times": "Closed on bank holidays",
        "opening_times": "Tuesday 18:00-20:00",
        "minimum_age": "18",
        "access": "self-referral",
        "waiting_time": "No wait: just come along",
        "contact_email": "hello@example.org",
        "contact_phone": "0113 496 0000",
        "website": "https://www.example.org",
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMN_NAMES)
    writer.writerow([example.get(name, "") for name in COLUMN_NAMES])
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Uploads waiting for "Import only the valid rows"

_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


class ImportStore:
    """Uploaded files kept for an hour, so that a person can import only their valid rows.

    Each upload is ``<token>.csv`` (the text) beside ``<token>.json`` (who uploaded it, for which
    organisation, and when); only that person, for that organisation, can use the token.
    """

    def __init__(self, folder: Path, ttl: timedelta = IMPORT_TTL) -> None:
        self.folder = folder
        self.ttl = ttl

    def save(self, text: str, user_id: int, org_id: int, now: datetime | None = None) -> str:
        """Keep the text; returns its token."""
        now = now or utcnow()
        self.sweep(now)
        self.folder.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(32)
        owner = {"user_id": user_id, "org_id": org_id, "created": now.isoformat()}
        self._write(self._path(token, "csv"), text)
        self._write(self._path(token, "json"), json.dumps(owner))  # written last: complete
        return token

    def load(
        self, token: str, user_id: int, org_id: int, now: datetime | None = None
    ) -> str | None:
        """The text kept under this token for this person and organisation, if still there."""
        now = now or utcnow()
        self.sweep(now)
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            return None
        owner = self._owner(token)
        if owner is None or (owner.get("user_id"), owner.get("org_id")) != (user_id, org_id):
            return None
        try:
            return self._path(token, "csv").read_text(encoding="utf-8")
        except OSError:
            return None

    def delete(self, token: str) -> None:
        """Forget an upload."""
        if _TOKEN.fullmatch(token):
            for suffix in ("json", "csv"):
                self._path(token, suffix).unlink(missing_ok=True)

    def sweep(self, now: datetime | None = None) -> int:
        """Delete uploads older than the time limit; returns how many."""
        now = now or utcnow()
        if not self.folder.is_dir():
            return 0
        removed = 0
        for path in self.folder.glob("*.json"):
            owner = self._owner(path.stem)
            created = _parse_time(owner.get("created")) if owner else None
            if created is None or created + self.ttl < now:
                self.delete(path.stem)
                removed += 1
        return removed

    def _path(self, token: str, suffix: str) -> Path:
        return self.folder / f"{token}.{suffix}"

    def _owner(self, token: str) -> dict[str, Any] | None:
        try:
            owner = json.loads(self._path(token, "json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return owner if isinstance(owner, dict) else None

    @staticmethod
    def _write(path: Path, text: str) -> None:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)


def _parse_time(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


# ---------------------------------------------------------------------------------------------
# Exporting search results

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """Text a spreadsheet will not run as a formula ('=1+1' -> "'=1+1")."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def search_all(index: SearchIndex, query: SearchQuery, limit: int = MAX_EXPORT_ROWS) -> list[Hit]:
    """Every hit of the query, page after page, up to the limit, in the query's order."""
    hits: list[Hit] = []
    page = 1
    while len(hits) < limit:
        result = index.search(replace(query, page=page, per_page=EXPORT_PAGE_SIZE))
        hits.extend(result.hits)
        if not result.hits or page >= result.pages:
            break
        page += 1
    return hits[:limit]


def _label(labels: dict[Any, str], code: str) -> str:
    """The label of a stored code (StrEnum keys equal their values); the code if unknown."""
    return labels.get(code, code)


def _price_text(price: ListingPrice) -> str:
    if price.unit == PriceUnit.FREE.value or price.amount_pence == 0:
        text = "Free"
    else:
        text = f"{format_pence(price.amount_pence)} {_label(PRICE_UNIT_LABELS, price.unit)}"
    return f"{text} ({price.label})" if price.label else text


def export_columns(with_distance: bool) -> list[str]:
    """The export's header row."""
    columns = ["name", "provider", "summary", "categories", "delivery", "prices", "councils"]
    columns += ["postcode", "distance_miles"] if with_distance else ["postcode"]
    return [
        *columns,
        "languages",
        "contact_phone",
        "contact_email",
        "website",
        "url",
        *DETAIL_COLUMNS,
        "last_checked",
    ]


# Written exactly as the import reads them, so these cells can go back into an import file.
DETAIL_COLUMNS = (
    "address_line_1",
    "address_line_2",
    "town",
    "opening_times",
    "times",
    "minimum_age",
    "maximum_age",
    "eligibility",
    "access",
    "waiting_time",
    "cqc_number",
    "charity_number",
    "company_number",
    "dbs_checked",
)


def opening_times_cell(listing: Listing) -> str:
    """'Monday 09:00-17:00 (drop-in); Tuesday 10:00-12:00', as the import reads it."""
    return f"{SEPARATOR} ".join(
        f"{o.day_name} {o.opens:%H:%M}-{o.closes:%H:%M}" + (f" ({o.note})" if o.note else "")
        for o in listing.opening_times
    )


def _detail_cells(listing: Listing) -> list[object]:
    return [
        listing.address_line_1,
        listing.address_line_2,
        listing.town,
        opening_times_cell(listing),
        listing.times,
        "" if listing.minimum_age is None else listing.minimum_age,
        "" if listing.maximum_age is None else listing.maximum_age,
        listing.eligibility,
        ACCESS_WORDS.get(listing.access or "", ""),
        listing.waiting_time,
        listing.cqc_number or "",
        listing.charity_number or "",
        listing.company_number or "",
        "" if listing.dbs_checked is None else ("yes" if listing.dbs_checked else "no"),
    ]


def export_csv(
    session: Session,
    hits: Sequence[Hit],
    listing_url: Callable[[Listing], str],
    with_distance: bool,
) -> str:
    """Search hits as CSV, one row per published listing, with formulas defused."""
    listings: dict[int, Listing] = {}
    ids = [hit.listing_id for hit in hits]
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        for found in session.scalars(select(Listing).where(Listing.id.in_(batch))):
            listings[found.id] = found
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(export_columns(with_distance))
    joined = f"{SEPARATOR} ".join
    for hit in hits:
        listing = listings.get(hit.listing_id)
        if listing is None or not listing.is_published:
            continue  # the index had not caught up yet
        row: list[object] = [
            listing.name,
            listing.organisation.name,
            listing.summary,
            joined(category.name for category in listing.categories),
            joined(_label(DELIVERY_LABELS, mode) for mode in listing.delivery_mode_list),
            joined(_price_text(price) for price in listing.prices),
            joined(council.name for council in listing.councils),
            listing.postcode or "",
        ]
        if with_distance:
            row.append("" if hit.distance_miles is None else f"{hit.distance_miles:.1f}")
        row += [
            joined(listing.language_list),
            listing.contact_phone or "",
            listing.contact_email or "",
            listing.website or "",
            listing_url(listing),
            *_detail_cells(listing),
            listing.last_checked_at.isoformat() if listing.last_checked_at else "",
        ]
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue()


__all__ = [
    "COLUMNS",
    "COLUMN_NAMES",
    "CheckedFile",
    "Column",
    "ImportFileError",
    "ImportHasErrors",
    "ImportStore",
    "RowError",
    "check",
    "decode",
    "export_csv",
    "import_listings",
    "safe_cell",
    "search_all",
    "template_csv",
]
