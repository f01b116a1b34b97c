"""The landing zone listing: every complete file of a real day folder counts; nothing else is guessed at."""

import datetime as dt

from platform_resources.ingest.landing import landing_files, unreadable_folders


def test_every_visible_file_of_a_day_folder_is_listed_and_bad_folders_are_reported(home) -> None:
    root = home / "landing" / "orders"
    for name in (
        "dt=2026-11-20/a.jsonl",
        "dt=2026-11-20/b.json",
        "dt=2026-11-20/.c.jsonl.tmp",
        "dt=2026-11-21/a.jsonl",
        "dt=2026-02-30/a.jsonl",
        "misc/a.jsonl",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("{}\n")
    listed = [(f.day, f.path.name) for f in landing_files("orders")]
    assert listed == [
        (dt.date(2026, 11, 20), "a.jsonl"),
        (dt.date(2026, 11, 20), "b.json"),
        (dt.date(2026, 11, 21), "a.jsonl"),
    ]
    assert [f.path.name for f in landing_files("orders", dt.date(2026, 11, 21))] == ["a.jsonl"]
    assert unreadable_folders("orders") == ["dt=2026-02-30"]
