"""Saved pulls on disk (incidentkit.sources.exports) and log files (incidentkit.sources.logfiles):
the folder layout, what is read, and the refusals."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from incidentkit.config import LogFileSettings
from incidentkit.errors import InputError, SourceError
from incidentkit.model.source import Export, Query
from incidentkit.model.window import Window
from incidentkit.sources.exports import META_FILE, load_export, open_export_lines, save_export
from incidentkit.sources.irc import IrcSource
from incidentkit.sources.logfiles import describe_logs, name_date, read_log_files


def test_a_saved_export_is_a_folder_of_safely_named_files_and_a_manifest(tmp_path: Path) -> None:
    export = Export("sal", (("Server Admin Log/2023?.wiki", "* 18:00 a"), ("ok-name_1.txt", "b")), {"page": "SAL", "n": 2})
    target = save_export(export, tmp_path)
    assert target == tmp_path / "sal"
    assert sorted(p.name for p in target.iterdir()) == ["000-Server_Admin_Log_2023_.wiki", "001-ok-name_1.txt", META_FILE]
    assert (target / "000-Server_Admin_Log_2023_.wiki").read_text(encoding="utf-8") == "* 18:00 a"
    manifest = (target / META_FILE).read_text(encoding="utf-8")
    assert manifest.endswith("}\n") and json.loads(manifest) == {
        "source": "sal",
        "files": [{"file": "000-Server_Admin_Log_2023_.wiki", "name": "Server Admin Log/2023?.wiki"},
                  {"file": "001-ok-name_1.txt", "name": "ok-name_1.txt"}],
        "meta": {"n": 2, "page": "SAL"},
    }  # fmt: skip
    assert manifest == json.dumps(json.loads(manifest), indent=2, sort_keys=True) + "\n"
    assert load_export("sal", target) == export
    save_export(export, tmp_path)  # saving again over the same folder is fine
    assert load_export("sal", target) == export


def test_a_plain_folder_reads_its_files_by_name_and_skips_hidden_ones(tmp_path: Path) -> None:
    (tmp_path / "b.log").write_text("second", encoding="utf-8")
    (tmp_path / "a.log").write_text("first", encoding="utf-8")
    (tmp_path / ".hidden").write_text("no", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    assert load_export("irc", tmp_path) == Export("irc", (("a.log", "first"), ("b.log", "second")))
    assert load_export("irc", tmp_path / "a.log") == Export("irc", (("a.log", "first"),))


def test_what_cannot_be_read_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / ".only-hidden").write_text("x")
    cases = [
        (tmp_path / "empty", r"^irc input folder '.*empty' holds no files$", "point --input at saved files"),
        (tmp_path / "missing", r"^irc input '.*missing' does not exist$", "check the path given to --input"),
    ]
    (tmp_path / "latin1.log").write_bytes("caf\xe9".encode("latin-1"))
    cases.append((tmp_path / "latin1.log", r"^irc input '.*latin1\.log' is not UTF-8 text$", "give a text export"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / META_FILE).write_text("{not json")
    cases.append((broken, r"^cannot read irc input '.*broken': ", "check the path given to --input"))
    gone = tmp_path / "gone"
    gone.mkdir()
    (gone / META_FILE).write_text(json.dumps({"files": [{"file": "000-x", "name": "x"}]}))
    cases.append((gone, r"^irc input '.*gone' does not exist$", "check the path given to --input"))
    for path, message, hint in cases:
        with pytest.raises(InputError, match=message) as refused:
            load_export("irc", path)
        assert refused.value.hint == hint, path


def test_a_missing_input_keeps_its_path_in_the_cause_that_debug_shows(tmp_path: Path) -> None:
    for read in (load_export, open_export_lines):
        with pytest.raises(InputError) as refused:
            read("irc", tmp_path / "missing")
        assert isinstance(refused.value.__cause__, FileNotFoundError)
        assert str(refused.value.__cause__) == str(tmp_path / "missing")


def test_an_export_opened_for_lines_holds_what_loading_reads(tmp_path: Path) -> None:
    target = save_export(Export("sal", (("a.log", "one\ntwo\n"), ("b.log", "three")), {"page": "SAL"}), tmp_path)
    opened = open_export_lines("sal", target)
    assert (opened.source, opened.meta) == ("sal", {"page": "SAL"})
    assert [(file.name, list(file.lines())) for file in opened.files] == [("a.log", ["one", "two"]), ("b.log", ["three"])]
    plain = open_export_lines("irc", target / "001-b.log")
    assert (plain.source, plain.meta, [file.name for file in plain.files]) == ("irc", {}, ["001-b.log"])


def test_an_export_opened_for_lines_refuses_as_loading_does(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    refused_on_open = [
        (tmp_path / "empty", f"irc input folder {str(tmp_path / 'empty')!r} holds no files", "point --input at saved files"),
        (tmp_path / "missing", f"irc input {str(tmp_path / 'missing')!r} does not exist", "check the path given to --input"),
    ]  # fmt: skip
    for path, message, hint in refused_on_open:
        with pytest.raises(InputError) as refused:
            open_export_lines("irc", path)
        assert (refused.value.message, refused.value.hint) == (message, hint)
    folder = tmp_path / "logs"  # a file's text is read, and refused, when its lines are read
    folder.mkdir()
    (folder / "latin1.log").write_bytes("caf\xe9".encode("latin-1"))
    opened = open_export_lines("irc", folder)
    with pytest.raises(InputError) as refused:
        list(opened.files[0].lines())
    assert (refused.value.message, refused.value.hint) == (f"irc input {str(folder)!r} is not UTF-8 text", "give a text export")


# --- log files (incidentkit.sources.logfiles) -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "day"),
    [
        ("20160728.txt", date(2016, 7, 28)),
        ("#wikimedia-operations.2023-02-14.log", date(2023, 2, 14)),
        ("logs/2023_02_14.log", date(2023, 2, 14)),
        ("icinga-02-15-2023-00.log", date(2023, 2, 15)),  # Icinga's archives: MM-DD-YYYY
        ("build-99999999-20230214.log", date(2023, 2, 14)),  # not a date, then a date
        ("icinga.log", None),
        ("2023-13-45.log", None),
    ],
)
def test_name_date(name: str, day: date | None) -> None:
    assert name_date(name) == day


def test_from_a_folder_only_files_near_the_window_are_read(tmp_path: Path) -> None:
    window = Window(datetime(2023, 2, 14, 18, tzinfo=UTC), datetime(2023, 2, 14, 20, tzinfo=UTC))
    for name in ("20230212.log", "20230213.log", "20230215.log", "20230216.log", "undated.log", ".hidden.log",
                 "20230214.log.gz", "deep/20230214.log"):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name, encoding="utf-8")
    files, skipped = read_log_files(str(tmp_path), window, source="irc", setting="[irc] path")
    assert [name for name, _ in files] == ["20230213.log", "20230215.log", "deep/20230214.log", "undated.log"]
    assert all(text == name for name, text in files) and skipped == ["20230214.log.gz"]
    far = read_log_files(str(tmp_path / "20230212.log"), window, source="irc", setting="[irc] path")
    assert far == ((("20230212.log", "20230212.log"),), [])  # a file named on purpose is read whatever its date
    assert describe_logs(str(tmp_path), source="irc", setting="[irc] path") == f"7 log file(s) under {tmp_path}"
    assert describe_logs(str(tmp_path / "undated.log"), source="irc", setting="[irc] path").startswith("1 log file(s)")


def test_log_paths_that_hold_nothing_are_source_errors(tmp_path: Path) -> None:
    window = Window(datetime(2023, 2, 14, 18, tzinfo=UTC), datetime(2023, 2, 14, 20, tzinfo=UTC))
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "20200101.log").write_text("x")
    (tmp_path / "bad.log").write_bytes(b"\xff\xfe")
    cases = [
        (tmp_path / "missing", rf"^irc: {tmp_path}/missing does not exist$", "check [irc] path"),
        (tmp_path / "old", rf"^irc: {tmp_path}/old holds no log for 2023-02-14\.\.2023-02-14$",
         "check [irc] path; log files named by date are read only near the window"),
        (tmp_path / "bad.log", rf"^irc: {tmp_path}/bad\.log is not UTF-8 text$", "decompress or convert it; check [irc] path"),
    ]  # fmt: skip
    for path, message, hint in cases:
        with pytest.raises(SourceError, match=message) as refused:
            read_log_files(str(path), window, source="irc", setting="[irc] path")
        assert refused.value.hint == hint
    (tmp_path / "none").mkdir()
    with pytest.raises(SourceError, match=rf"^irc: {tmp_path}/none holds no files$"):
        describe_logs(str(tmp_path / "none"), source="irc", setting="[irc] path")
    with pytest.raises(SourceError, match=r"does not exist$"):
        describe_logs(str(tmp_path / "missing"), source="irc", setting="[irc] path")


def test_a_log_source_needs_a_path_and_says_where_to_set_it(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"^irc: no path is configured$") as refused:
        IrcSource(LogFileSettings()).pull(Query(Window(datetime(2023, 2, 14, tzinfo=UTC), datetime(2023, 2, 15, tzinfo=UTC))))
    assert refused.value.hint == "set path (a channel log or a folder of daily logs) in [irc], or give --input irc=FILE"
    (tmp_path / "20230214.log").write_text("18:00 <volans> hi\n")
    source = IrcSource(LogFileSettings(path=str(tmp_path)))
    pulled = source.pull(Query(Window(datetime(2023, 2, 14, tzinfo=UTC), datetime(2023, 2, 15, tzinfo=UTC))))
    assert pulled == Export("irc", (("20230214.log", "18:00 <volans> hi\n"),), {"path": str(tmp_path), "skipped_files": []})
    assert source.check() == f"1 log file(s) under {tmp_path}"


def test_a_log_source_opens_the_files_near_the_window_to_be_read_line_by_line(tmp_path: Path) -> None:
    query = Query(Window(datetime(2023, 2, 14, 18, tzinfo=UTC), datetime(2023, 2, 14, 20, tzinfo=UTC)))
    (tmp_path / "20230214.log").write_text("18:00 <volans> hi\r\n18:01 <jynus> ok\n", encoding="utf-8")
    (tmp_path / "20230101.log").write_text("too old\n", encoding="utf-8")
    (tmp_path / "20230215.log.gz").write_bytes(b"\x1f\x8b")
    opened = IrcSource(LogFileSettings(path=str(tmp_path))).open_lines(query)
    assert (opened.source, opened.meta) == ("irc", {"path": str(tmp_path), "skipped_files": ["20230215.log.gz"]})
    assert [(file.name, list(file.lines())) for file in opened.files] == [
        ("20230214.log", ["18:00 <volans> hi", "18:01 <jynus> ok"])
    ]
    (tmp_path / "20230214.log").write_bytes(b"18:02 caf\xe9\n")  # read when its lines are, and refused then
    with pytest.raises(SourceError) as refused:
        list(opened.files[0].lines())
    assert refused.value.message == f"irc: {tmp_path / '20230214.log'} is not UTF-8 text"
    assert refused.value.hint == "decompress or convert it; check [irc] path"
    for path, message in (
        (tmp_path / "missing", f"irc: {tmp_path / 'missing'} does not exist"),
        (tmp_path / "20230101.log", None),  # a file named on purpose is opened whatever its date
    ):
        source = IrcSource(LogFileSettings(path=str(path)))
        if message is None:
            assert [file.name for file in source.open_lines(query).files] == ["20230101.log"]
            continue
        with pytest.raises(SourceError) as refused:
            source.open_lines(query)
        assert (refused.value.message, refused.value.hint) == (message, "check [irc] path")


def test_a_log_file_that_cannot_be_opened_names_the_file_and_the_systems_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = Query(Window(datetime(2023, 2, 14, 18, tzinfo=UTC), datetime(2023, 2, 14, 20, tzinfo=UTC)))
    (tmp_path / "20230214.log").write_text("x\n", encoding="utf-8")
    opened = IrcSource(LogFileSettings(path=str(tmp_path))).open_lines(query)

    def denied(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(SourceError) as refused:
        list(opened.files[0].lines())
    assert refused.value.message == f"irc: cannot read {tmp_path / '20230214.log'}: Permission denied"
    assert refused.value.hint == "check [irc] path"


def test_saving_makes_the_folders_and_an_old_manifest_without_meta_still_reads(tmp_path: Path) -> None:
    deep = tmp_path / "pulls" / "2023-02-14"
    target = save_export(Export("sal", (("a", "x"),)), deep)
    assert target == deep / "sal" and (target / "000-a").read_text(encoding="utf-8") == "x"
    (target / META_FILE).write_text(json.dumps({"source": "sal", "files": [{"file": "000-a", "name": "a"}]}))
    assert load_export("sal", target) == Export("sal", (("a", "x"),), {})


def test_an_unreadable_log_file_and_every_hint_name_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window = Window(datetime(2023, 2, 14, 18, tzinfo=UTC), datetime(2023, 2, 14, 20, tzinfo=UTC))
    (tmp_path / "a.log").write_text("x")

    def denied(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    with monkeypatch.context() as patched:
        patched.setattr(Path, "read_text", denied)
        with pytest.raises(SourceError, match=rf"^irc: cannot read {tmp_path}/a\.log: Permission denied$") as refused:
            read_log_files(str(tmp_path), window, source="irc", setting="[irc] path")
        assert refused.value.hint == "check [irc] path"
    for path in (tmp_path / "missing", tmp_path / "empty"):
        (tmp_path / "empty").mkdir(exist_ok=True)
        with pytest.raises(SourceError) as refused:
            describe_logs(str(path), source="irc", setting="[irc] path")
        assert refused.value.hint == "check [irc] path"
    missing = IrcSource(LogFileSettings(path=str(tmp_path / "missing")))
    for call in (missing.check, lambda: missing.pull(Query(window))):
        with pytest.raises(SourceError, match=rf"^irc: {tmp_path}/missing does not exist$") as refused:
            call()
        assert refused.value.hint == "check [irc] path"


def test_a_manifest_whose_meta_is_no_object_reads_as_empty_meta(tmp_path: Path) -> None:
    (tmp_path / "000-a.log").write_text("first")
    (tmp_path / META_FILE).write_text(json.dumps({"files": [{"file": "000-a.log", "name": "a.log"}], "meta": ["x"]}))
    assert load_export("irc", tmp_path) == Export("irc", (("a.log", "first"),), {})


def test_why_a_saved_pull_cannot_be_read_names_the_systems_reason_or_the_error(tmp_path: Path) -> None:
    (tmp_path / "000-a.log").mkdir()  # the manifest names a folder
    (tmp_path / META_FILE).write_text(json.dumps({"files": [{"file": "000-a.log", "name": "a.log"}]}))
    with pytest.raises(InputError) as refused:
        load_export("irc", tmp_path)
    assert refused.value.message == f"cannot read irc input {str(tmp_path)!r}: Is a directory"
    (tmp_path / META_FILE).write_text(json.dumps({"meta": {}}))  # no list of files
    with pytest.raises(InputError) as refused:
        load_export("irc", tmp_path)
    assert refused.value.message == f"cannot read irc input {str(tmp_path)!r}: KeyError: 'files'"
