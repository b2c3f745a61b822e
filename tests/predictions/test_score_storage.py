"""Narrow score storage (migration 0011): rows scored before it keep their actual, error and
interval hits; the dropped per-point scores come back from the point when read, and downgrade
puts the old columns back with the same values."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from helios.db import migrate
from helios.db.engine import Database
from helios.predictions.tables import inside_bits

REFERENCES = [
    "INSERT INTO datasets (id, name, kind, description, created_at, created_by) "
    "VALUES (1, 'stocks', 'timeseries', '', CURRENT_TIMESTAMP, 't')",
    "INSERT INTO dataset_versions (id, dataset_id, version, content_hash, artifact_key, size_bytes, rows, "
    "series_count, source_format, source_filename, profile, created_at, created_by) VALUES "
    "(1, 1, 1, 'x', 'x', 0, 0, 0, 'csv', '', '{}', CURRENT_TIMESTAMP, 't')",
    "INSERT INTO models (id, name, kind, task, description, tags, created_at, created_by, updated_at) "
    "VALUES (1, 'walk', 'ml', 'price', '', '[]', CURRENT_TIMESTAMP, 't', CURRENT_TIMESTAMP)",
    "INSERT INTO model_versions (id, model_id, version, stage, params, metrics, description, created_at, "
    "created_by) VALUES (1, 1, 1, 'none', '{}', '{}', '', CURRENT_TIMESTAMP, 't')",
    "INSERT INTO predictions (id, model_name, model_version, model_version_id, family, task, dataset_id, "
    "dataset_name, dataset_version, dataset_version_id, unique_id, origin, origin_value, naive_scale, "
    "horizon, levels, start_mode, trigger, created_at, created_by) VALUES (1, 'walk', 1, 1, 'naive', "
    "'timeseries', 1, 'stocks', 1, 1, 'AAA', '2026-01-01 00:00:00', 100.0, 2.0, 2, '[80, 95]', "
    "'state_updated', 'api', CURRENT_TIMESTAMP, 't')",
    "INSERT INTO prediction_points (id, prediction_id, dataset_id, unique_id, step, ds, mean, lo_80, hi_80, "
    "lo_95, hi_95) VALUES (1, 1, 1, 'AAA', 1, '2026-01-02 00:00:00', 101.0, 99.0, 103.0, 98.0, 104.0), "
    "(2, 1, 1, 'AAA', 2, '2026-01-03 00:00:00', 102.0, 98.0, 106.0, 97.0, 107.0)",
]
# Point 1 scored against 102 (inside both), then revised to 103.5 (outside 80, inside 95);
# point 2 against 110 (outside both).
OLD_SCORES = (
    "INSERT INTO prediction_scores (id, point_id, prediction_id, revision, latest, source, actual, error, "
    "abs_pct_error, naive_error, scaled_error, direction_hit, inside_80, inside_95, winkler_80, winkler_95, "
    "realised_return, scored_at) VALUES "
    "(1, 1, 1, 0, {false}, 'api', 102.0, 1.0, 0.98, 2.0, 0.5, {true}, {true}, {true}, 4.0, 6.0, 1.98, "
    "CURRENT_TIMESTAMP), "
    "(2, 1, 1, 1, {true}, 'api', 103.5, 2.5, 2.41, 3.5, 1.25, {true}, {false}, {true}, 9.0, 6.0, 3.44, "
    "CURRENT_TIMESTAMP), "
    "(3, 2, 1, 0, {true}, 'api', 110.0, 8.0, 7.27, 10.0, 4.0, {true}, {false}, {false}, 48.0, 66.0, NULL, "
    "CURRENT_TIMESTAMP)"
)


def _bits(*flags: tuple[int, bool]) -> int:
    total = 0
    for level, inside in flags:
        known, hit = inside_bits(level)
        total += known + (hit if inside else 0)
    return total


def test_upgrade_keeps_scored_rows_and_downgrade_restores_them(empty_database_url: str) -> None:
    database = Database.connect(empty_database_url)
    engine = database.write_engine
    migrate.upgrade(engine, "0010")
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as connection:
        for statement in REFERENCES:
            connection.execute(text(statement))
        connection.execute(
            text(OLD_SCORES.format(true="1" if sqlite else "true", false="0" if sqlite else "false"))
        )
    migrate.upgrade(engine, "0011")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, revision, latest, actual, error, inside FROM prediction_scores ORDER BY id")
        ).all()
    assert [(r.id, r.revision, bool(r.latest), r.actual, r.error) for r in rows] == [
        (1, 0, False, 102.0, 1.0),
        (2, 1, True, 103.5, 2.5),
        (3, 0, True, 110.0, 8.0),
    ]
    assert [r.inside for r in rows] == [
        _bits((80, True), (95, True)),
        _bits((80, False), (95, True)),
        _bits((80, False), (95, False)),
    ]
    migrate._with_connection(engine, lambda config: command.downgrade(config, "0010"))
    with engine.connect() as connection:
        back = connection.execute(
            text(
                "SELECT inside_80, inside_95, inside_50, winkler_80, winkler_95, naive_error, scaled_error, "
                "abs_pct_error, direction_hit FROM prediction_scores ORDER BY id"
            )
        ).all()
    assert [(bool(r.inside_80), bool(r.inside_95), r.inside_50) for r in back] == [
        (True, True, None),
        (False, True, None),
        (False, False, None),
    ]
    # Winkler: width + 2/alpha * miss; 103.5 is 0.5 above the 80% band of point 1 (alpha 0.2)
    assert [r.winkler_80 for r in back] == pytest.approx([4.0, 4.0 + 10 * 0.5, 8.0 + 10 * 4.0])
    assert [r.winkler_95 for r in back] == pytest.approx([6.0, 6.0, 10.0 + 40 * 3.0])
    assert [r.naive_error for r in back] == pytest.approx([2.0, 3.5, 10.0])
    assert [r.scaled_error for r in back] == pytest.approx([0.5, 1.25, 4.0])
    assert [bool(r.direction_hit) for r in back] == [True, True, True]
    assert back[0].abs_pct_error == pytest.approx(100 / 102)
    database.dispose()
