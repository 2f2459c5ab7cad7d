"""The Optuna storage a sweep's study lives in, opened so that several workers can share it.

`open_storage(spec, heartbeat_s)` takes what `--storage` says: an SQLAlchemy URL (`sqlite:///...`,
`postgresql+psycopg2://...`, `mysql+pymysql://...`) opens an `RDBStorage`, and `journal:PATH`
opens Optuna's `JournalStorage` on a log file that needs no server (file locks make it safe for
several workers on one machine or on a shared NFS folder). Either way:

- running trials record a heartbeat every `heartbeat_s` seconds, and a trial silent for
  `GRACE_BEATS` heartbeats is failed as lost (its worker was killed) and queued again once, with the
  same settings (`RetryHeartbeatStaleTrialCallback(max_retry=1)`). Optuna's `RDBStorage` has the
  heartbeat built in; its `JournalStorage` has none, so `_JournalStorage` adds it the way
  RDBStorage does (Optuna's `BaseHeartbeat`), keeping the last beat in a trial system attribute.
- SQLite transactions begin with `BEGIN IMMEDIATE`: Python's sqlite3 starts a transaction only at
  the first write, so Optuna's read-then-write of "take this waiting trial" could let two workers
  take the same one; an immediate transaction holds the write lock from the read on.
- a missing database driver is one sentence naming the package to install (SQLAlchemy 2.1 reads
  `postgresql://` as psycopg 3; with psycopg2 the URL is `postgresql+psycopg2://`).

`redact(url)` is the URL as it may be printed: its password replaced by `***`.
"""

import copy
import datetime
import functools
import random
import re
import threading
import time
import warnings
from pathlib import Path

from designer.core.atomic import make_folder
from .settings import SweepError

JOURNAL_PREFIX = "journal:"
GRACE_BEATS = 4           # heartbeats a running trial may miss before it is failed as lost
MAX_RETRY = 1             # a lost trial is run again once; lost twice, it stays failed
HEARTBEAT_ATTR = "heartbeat"   # the journal's last-beat time (a trial system attribute)
BEATING_ATTR = "heartbeat_s"   # set as a trial starts beating: a running trial without it is
                               # from a sweep before heartbeats (or was killed before its first)
CREATE_TRIES = 6          # workers started together race to create the database's tables

# SQLAlchemy's driver name -> what to pip install
DRIVER_PACKAGES = {"psycopg": '"psycopg[binary]"', "psycopg2": "psycopg2-binary",
                   "pg8000": "pg8000", "mysqldb": "mysqlclient", "pymysql": "PyMySQL",
                   "mysqlconnector": "mysql-connector-python", "asyncpg": "asyncpg"}


def redact(url):
    """`url` with its password (if any) as `***`, for messages and `--json`."""
    url = str(url)
    if url.startswith(JOURNAL_PREFIX):
        return url
    try:
        from sqlalchemy.engine import make_url
        parsed = make_url(url)
    except Exception:   # noqa: BLE001 - not a URL SQLAlchemy reads: hide what looks like one
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    return parsed.render_as_string(hide_password=True) if parsed.password else url


def redact_text(text, url):
    """`text` (an error message) with the password of `url` hidden wherever it appears."""
    password = None
    try:
        from sqlalchemy.engine import make_url
        password = make_url(url).password
    except Exception:   # noqa: BLE001
        pass
    text = text.replace(str(url), redact(url))
    return text.replace(password, "***") if password else text


def open_storage(spec, heartbeat_s):
    """The Optuna storage `spec` names (see the module doc), with heartbeats every `heartbeat_s`
    seconds. SweepError with one sentence when it cannot be opened; errors of workers racing to
    create a new database are left to `is_creation_race` (the caller retries those)."""
    from optuna.storages import RDBStorage
    grace = GRACE_BEATS * heartbeat_s
    with warnings.catch_warnings():       # heartbeat and the retry callback are "experimental"
        warnings.simplefilter("ignore")
        retry = _RetryLostTrial(max_retry=MAX_RETRY)
        if spec.startswith(JOURNAL_PREFIX):
            return _open_journal(spec[len(JOURNAL_PREFIX):], heartbeat_s, grace, retry)
        try:
            storage = RDBStorage(spec, heartbeat_interval=heartbeat_s, grace_period=grace,
                                 heartbeat_stale_trial_callback=retry,
                                 engine_kwargs=_engine_kwargs(spec))
        except ImportError as error:
            raise SweepError(f"cannot open the study storage {redact(spec)!r}: "
                             f"{driver_missing(spec, error)}") from None
    if storage.engine.dialect.name == "sqlite":
        _serialize_sqlite(storage.engine)
    return storage


def _engine_kwargs(spec):
    # a worker waits up to 60 s for another's write lock instead of failing at once
    return {"connect_args": {"timeout": 60}} if spec.startswith("sqlite") else {}


def _serialize_sqlite(engine):
    """Every transaction on `engine` takes SQLite's write lock at its start (the SQLAlchemy
    recipe for pysqlite's deferred BEGIN), so a read-then-write cannot interleave with another
    worker's."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()           # connections opened before the listeners reconnect with them


def driver_missing(spec, error):
    """The sentence for a URL whose database driver cannot be imported."""
    cause = error.__cause__ or error
    module = getattr(cause, "name", None)
    try:
        from sqlalchemy.engine import make_url
        url = make_url(spec)
        backend, driver = url.get_backend_name(), url.get_driver_name()
    except Exception:   # noqa: BLE001 - an unknown dialect: say what Python could not import
        return f"a module it needs is not installed ({cause})"
    package = DRIVER_PACKAGES.get(driver, module or driver)
    text = (f"its {backend} driver {driver} is not installed (no module {module or driver!r}): "
            f"pip install {package}")
    if backend == "postgresql" and driver == "psycopg":
        psycopg2_url = url.set(drivername="postgresql+psycopg2").render_as_string(
            hide_password=True)
        text += (f"; SQLAlchemy reads postgresql:// as psycopg 3, so with psycopg2 installed "
                 f"write {psycopg2_url}")
    return text


def is_creation_race(error):
    """Whether `error` is one of two workers creating the same new database at once: the table
    or the schema-version row exists by the time the second writes it. Tried again, it loads."""
    from sqlalchemy import exc
    text = str(error)
    return isinstance(error, exc.IntegrityError) or any(words in text for words in (
        "UNIQUE constraint failed", "UniqueViolation", "duplicate key", "already exists",
        "database is locked"))


def creation_pause(attempt):
    """Seconds before try `attempt` + 1: doubling, with jitter so racing workers part."""
    return 0.1 * 2 ** attempt * (1 + random.random())


def _open_journal(path_text, heartbeat_s, grace, retry):
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
    if not path_text.strip():
        raise SweepError("--storage journal:PATH needs a file name, e.g. journal:sweeps/study.log")
    path = Path(path_text).expanduser()
    if path.is_dir():
        raise SweepError(f"--storage journal:{path} is a folder; give a file name")
    make_folder(path.parent)
    try:
        # an O_EXCL lock file: works on local disks, NFSv3+ and Windows (symlinks need rights)
        backend = JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path)))
        return _journal_storage_class()(backend, heartbeat_s, grace, retry)
    except (OSError, ValueError) as error:
        raise SweepError(f"cannot open the study storage journal:{path}: {error}") from None


@functools.cache
def _journal_storage_class():
    from optuna.storages import JournalStorage
    from optuna.storages._heartbeat import BaseHeartbeat
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    class JournalHeartbeatStorage(JournalStorage, BaseHeartbeat):
        """Optuna's JournalStorage with the heartbeat RDBStorage has: each beat appends the time
        to the log as the trial's system attribute `heartbeat`; a running trial whose last beat
        is older than `grace` seconds is stale (Optuna's `fail_stale_trials` fails it and calls
        the retry callback)."""

        def __init__(self, backend, heartbeat_s, grace, callback):
            super().__init__(backend)
            self._heartbeat_s, self._grace, self._callback = heartbeat_s, grace, callback

        def record_heartbeat(self, trial_id):
            try:
                self.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, time.time())
            except (UpdateFinishedTrialError, KeyError):
                pass        # the trial ended meanwhile (or another worker failed it as lost)

        def _get_stale_trial_ids(self, study_id):
            now = time.time()
            return [t._trial_id for t in self.get_all_trials(study_id, deepcopy=False,
                                                             states=(TrialState.RUNNING,))
                    if now - t.system_attrs.get(HEARTBEAT_ATTR, now) > self._grace]

        def get_heartbeat_interval(self):
            return self._heartbeat_s

        def get_heartbeat_stale_trial_callback(self):
            return self._callback

    return JournalHeartbeatStorage


class _RetryLostTrial:
    """Optuna's RetryHeartbeatStaleTrialCallback (a lost trial queued again with its settings and
    its grid point; `retry_history` names the lost one), without carrying over the lost run's
    user attributes (its run folder, its error) or its last heartbeat, which would make the retry
    look lost the moment it starts."""

    def __init__(self, max_retry):
        from optuna.storages import RetryHeartbeatStaleTrialCallback
        self._retry = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)

    def __call__(self, study, trial):
        trial = copy.deepcopy(trial)
        trial.user_attrs = {}
        trial.system_attrs = {k: v for k, v in trial.system_attrs.items()
                              if k not in (HEARTBEAT_ATTR, BEATING_ATTR)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._retry(study, trial)


def fail_lost_trials(study):
    """Fail the running trials whose worker stopped beating (and queue their retries), and those
    that never beat and started more than the grace period ago: a sweep killed before heartbeats
    existed left them running for ever."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.storages import fail_stale_trials
    from optuna.trial import TrialState
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fail_stale_trials(study)
    storage = study._storage
    grace = GRACE_BEATS * storage.get_heartbeat_interval()
    now = datetime.datetime.now()          # Optuna keeps start times in local time, naive
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if BEATING_ATTR in trial.system_attrs or trial.datetime_start is None or \
                (now - trial.datetime_start).total_seconds() <= grace:
            continue
        try:
            if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                continue
        except UpdateFinishedTrialError:   # another worker failed it first
            continue
        storage.get_heartbeat_stale_trial_callback()(
            study, copy.deepcopy(storage.get_trial(trial._trial_id)))


class Heartbeat:
    """Records a running trial's heartbeat now and then every interval in a daemon thread, until
    `stop()`. The first beat is written before the constructor returns, so a worker killed at once
    still leaves a trial that can be seen to be lost."""

    def __init__(self, storage, trial_id):
        self._storage, self._trial_id = storage, trial_id
        self._interval = storage.get_heartbeat_interval()
        self._done = threading.Event()
        storage.record_heartbeat(trial_id)
        storage.set_trial_system_attr(trial_id, BEATING_ATTR, self._interval)
        self._thread = threading.Thread(target=self._beat, daemon=True, name="sweep-heartbeat")
        self._thread.start()

    def _beat(self):
        while not self._done.wait(self._interval):
            try:
                self._storage.record_heartbeat(self._trial_id)
            except Exception:   # noqa: BLE001 - a storage hiccup: the next beat tries again
                pass

    def stop(self):
        self._done.set()
        self._thread.join()
