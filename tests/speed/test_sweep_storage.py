"""The sweep's study storage (issue 24, items 3-6): drivers named in the error, passwords never
printed, creation races retried, journal files. No database server is needed: a missing driver is
what the URL tests see (its import is blocked), and a server URL's storage is swapped for SQLite
where a study must really open."""

import json

import pytest

from designer.cli import main
from designer.speed import storage as storages
from designer.speed.sweep import Sweep, parse_param

SWEEP = ["sweep", "reactor_digits", "--dataset", "digits", "--param", "lr=0.1", "--epochs", "1",
         "--no-latency", "--threads", "1", "--train", "batch_size=128"]


@pytest.fixture
def no_postgres_drivers(monkeypatch):
    """Neither psycopg (3) nor psycopg2 importable, as on a machine without them."""
    monkeypatch.setitem(__import__("sys").modules, "psycopg", None)
    monkeypatch.setitem(__import__("sys").modules, "psycopg2", None)


@pytest.mark.parametrize("url, words", [
    ("postgresql://ann:s3cret@localhost/sweeps",
     ['its postgresql driver psycopg is not installed', 'pip install "psycopg[binary]"',
      "with psycopg2 installed write postgresql+psycopg2://ann:***@localhost/sweeps",
      "'postgresql://ann:***@localhost/sweeps'"]),
    ("postgresql+psycopg2://ann:s3cret@localhost/sweeps",
     ["its postgresql driver psycopg2 is not installed", "pip install psycopg2-binary",
      "'postgresql+psycopg2://ann:***@localhost/sweeps'"]),
])
def test_a_missing_postgres_driver_names_what_to_install(url, words, no_postgres_drivers,
                                                         tmp_path, capsys):
    code = main([*SWEEP, "--storage", url, "--out", str(tmp_path / "sweep")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("designer: cannot open the study storage"), err
    for text in words:
        assert text in err, err
    assert "s3cret" not in err


def test_json_and_errors_never_show_the_password(tmp_path, capsys, monkeypatch):
    url = "postgresql+psycopg2://ann:s3cret@db.example:5432/sweeps"
    assert storages.redact(url) == "postgresql+psycopg2://ann:***@db.example:5432/sweeps"
    assert storages.redact("journal:/x/study.log") == "journal:/x/study.log"
    assert storages.redact("weird://ann:s3cret@host/db") == "weird://ann:***@host/db"
    # the study really opens (in SQLite) while the sweep's storage is the server URL
    real = storages.open_storage
    monkeypatch.setattr(storages, "open_storage", lambda spec, beat: real(
        f"sqlite:///{tmp_path / 'stand-in.db'}", beat))
    code = main([*SWEEP, "--storage", url, "--out", str(tmp_path / "sweep"), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out)["storage"] == storages.redact(url)
    assert "s3cret" not in captured.out + captured.err


def test_workers_racing_to_create_a_database_retry(tmp_path, monkeypatch):
    """The loser of two workers creating one new database sees the winner's tables appear under
    it (UNIQUE constraint failed: alembic_version on SQLite): it tries again and loads them."""
    from sqlalchemy import exc
    real, calls = storages.open_storage, []

    def racing(spec, beat):
        calls.append(spec)
        if len(calls) < 3:
            raise exc.IntegrityError("INSERT INTO alembic_version", {},
                                     Exception("UNIQUE constraint failed: alembic_version"))
        return real(spec, beat)

    monkeypatch.setattr(storages, "open_storage", racing)
    monkeypatch.setattr(storages, "creation_pause", lambda attempt: 0)
    sweep = Sweep("reactor_digits", "digits", [parse_param("lr=0.1")], out=tmp_path, epochs=1)
    assert len(calls) == 3 and sweep.study.study_name == "sweep"


def test_a_journal_study_resumes_and_a_folder_is_refused(tmp_path, capsys):
    log = tmp_path / "logs" / "study.log"         # its folder is made
    common = dict(design="reactor_digits", dataset="digits", epochs=1, threads=1, latency=False,
                  train_settings={"batch_size": 128}, storage=f"journal:{log}")
    first = Sweep(params=[parse_param("lr=0.05,0.1")], out=tmp_path / "a", trials=1, **common)
    list(first.run())
    again = Sweep(params=[parse_param("lr=0.05,0.1")], out=tmp_path / "b", **common)
    list(again.run())                   # another folder, the same journal: one more trial
    records = again.records()
    assert [r["state"] for r in records] == ["complete", "complete"]
    assert sorted(r["settings"]["lr"] for r in records) == [0.05, 0.1]
    assert log.stat().st_size > 0
    code = main([*SWEEP, "--storage", f"journal:{tmp_path}", "--out", str(tmp_path / "c")])
    assert code == 2 and "is a folder; give a file name" in capsys.readouterr().err


def test_a_trial_left_running_before_heartbeats_is_failed_and_run_again(tmp_path):
    """A sweep killed before this version left its trial RUNNING with no heartbeat at all: once
    it is older than the grace period, the next worker fails it as lost and re-runs its point
    (before, a grid worker counting running trials would have waited on it for ever)."""
    import time
    common = dict(design="reactor_digits", dataset="digits", params=[parse_param("lr=0.05,0.1")],
                  out=tmp_path, epochs=1, threads=1, latency=False, heartbeat=1,
                  train_settings={"batch_size": 128})
    old = Sweep(**common)
    with pytest.warns(UserWarning, match="Heartbeat"):     # ask() outside optimize()
        left = old.study.ask()              # as an old worker did, then it was killed
    old.params[0].suggest(left)
    time.sleep(4 * 1 + 0.5)
    sweep = Sweep(**common)
    list(sweep.run())
    records = sweep.records()
    assert records[0]["state"] == "failed" and "run again as trial 1" in records[0]["message"]
    assert records[1]["retry_of"] == 0 and records[1]["settings"] == records[0]["settings"]
    assert sorted(r["settings"]["lr"] for r in records if r["state"] == "complete") == [0.05, 0.1]
